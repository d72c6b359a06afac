"""The infection curve of one run as a PNG: what ``wormlab run`` draws next to its results."""

from __future__ import annotations

from typing import Any


def save_infection_png(result: Any, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    ts = result.timeseries
    t = ts["time"].dt.tz_convert("UTC").dt.tz_localize(None)
    fig, (ax, ax2) = plt.subplots(2, 1, figsize=(7.0, 5.2), sharex=True, height_ratios=(2, 1),
                                  constrained_layout=True)
    ax.plot(t, ts["ever_infected"], color="#b2182b", lw=1.8, label="ever infected")
    ax.plot(t, ts["infected"], color="#ef8a62", lw=1.2, label="infected now")
    ax.plot(t, ts["patched"], color="#2166ac", lw=1.2, ls="--", label="patched")
    ax.set_ylabel("hosts")
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v / 1000:,.0f}k"))
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", frameon=False)
    s = result.summary
    ax.set_title(f"{s['scenario']} (seed {s['seed']}): {s['ever_infected']:,} hosts ever infected")
    row_s = (ts["time"].iloc[1] - ts["time"].iloc[0]).total_seconds() if len(ts) > 1 else 60.0
    ax2.plot(t, ts["new_infections"] * 60.0 / row_s, color="#b2182b", lw=1.0)
    ax2.set_ylabel("new infections\nper minute")
    ax2.grid(alpha=0.3)
    ax2.set_xlabel("time (UTC)")
    ax2.xaxis.set_major_formatter(mdates.DateFormatter("%d %b\n%H:%M"))
    fig.savefig(path, dpi=130, format="png")
    plt.close(fig)
