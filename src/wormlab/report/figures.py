"""Figures of a run or an ensemble, fit for a paper: ``wormlab plot`` and the HTML report.

Every kind draws on one matplotlib Axes from a :class:`RunSet`: one run is a line, several
runs are a median with a 5–95% band. Every time axis is UTC and carries the defences'
activation times (patch schedule steps, the worm's calendar, and later defences as they
appear on the scenario), so a reader sees what changed when. Historical observations of the
scenario's event are overlaid on the infection curve when the history dataset has them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from wormlab.errors import InputError
from wormlab.report.runset import RunSet

KINDS = ("infection", "rate", "traffic", "flood", "map")
FORMATS = ("png", "svg", "pdf")
COLUMN_WIDTH_IN = 6.5  # two-column papers: the figure* width; legible at 3.5 in too (9 pt text)
RED, ORANGE, BLUE, GREY = "#b2182b", "#ef8a62", "#2166ac", "#555555"


@dataclass(frozen=True)
class Marker:
    """A moment a defence or the worm's calendar changes something, drawn as a vertical line."""

    time: Any  # pandas Timestamp, UTC
    label: str
    colour: str = GREY


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 9, "axes.titlesize": 9.5, "legend.fontsize": 8,
                         "axes.spines.top": False, "axes.spines.right": False,
                         "svg.fonttype": "none", "pdf.fonttype": 42})
    return plt


def naive_utc(times: Any) -> Any:
    """UTC times without a zone, which matplotlib's date axis draws as they are."""
    import pandas as pd

    t = pd.to_datetime(times, utc=True)
    return t.dt.tz_localize(None) if hasattr(t, "dt") else t.tz_localize(None)


def defence_markers(scenario: Any, start: Any, end: Any) -> list[Marker]:
    """Defence activations and calendar changes inside [start, end]; a scenario of None has none."""
    import pandas as pd

    if scenario is None:
        return []
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    out: list[Marker] = []
    for step in getattr(scenario.hosts, "patch_schedule", []):
        t = pd.Timestamp(step.start)
        if start < t <= end:
            out.append(Marker(t, f"patch rate {step.rate_per_h:g}/h", BLUE))
    day = start.normalize()
    previous = _phase_on(scenario, start)
    while day < end:
        day += pd.Timedelta(days=1)
        phase = _phase_on(scenario, day)
        if phase != previous and start < day <= end:
            out.append(Marker(day, f"worm: {phase} (day {day.day})", RED if phase == "flood" else GREY))
        previous = phase
    for item in getattr(scenario, "defenses", None) or []:  # defences that later issues add
        t = getattr(item, "start", None) or getattr(item, "at", None)
        if t is not None and start < pd.Timestamp(t) <= end:
            out.append(Marker(pd.Timestamp(t), str(getattr(item, "kind", type(item).__name__)), BLUE))
    return sorted(out, key=lambda m: m.time)


def _phase_on(scenario: Any, when: Any) -> str:
    for phase in scenario.worm.calendar:
        if phase.days[0] <= when.day <= phase.days[1]:
            return phase.action
    return "sleep"


def draw_markers(ax: Any, markers: list[Marker], label: bool = True) -> None:
    """Dotted vertical lines; labelled in the legend (texts on the plot would hide the curves)."""
    seen: set[str] = set()
    for m in markers:
        text = f"{m.label} ({m.time:%d %b %H:%M})" if label and m.label not in seen else None
        seen.add(m.label)
        ax.axvline(naive_utc(m.time), color=m.colour, lw=0.9, ls=":", alpha=0.9, label=text)


def stack(runset: RunSet, column: str, per_minute: bool = False) -> tuple[Any, np.ndarray]:
    """(times, runs × rows) for ``column``, runs aligned on the first run's time grid."""
    import pandas as pd

    base = runset.first.timeseries
    times = pd.to_datetime(base["time"], utc=True)
    rows = []
    for run in runset.runs:
        ts = run.timeseries
        if column not in ts.columns:
            raise InputError(f"{runset.source}: the time series has no column {column!r}")
        series = pd.Series(ts[column].to_numpy(dtype=float), index=pd.to_datetime(ts["time"], utc=True))
        values = series.reindex(times).to_numpy()
        if per_minute:
            values = values * 60.0 / row_seconds(ts)
        rows.append(values)
    return times, np.vstack(rows)


def row_seconds(ts: Any) -> float:
    """Seconds covered by one time-series row."""
    if len(ts) < 2:
        return 60.0
    return float((ts["time"].iloc[1] - ts["time"].iloc[0]).total_seconds())


def draw_series(ax: Any, times: Any, values: np.ndarray, colour: str, label: str, lw: float = 1.6,
                ls: str = "-") -> None:
    """One run as a line; several as a median line and a shaded 5–95% band."""
    x = naive_utc(times)
    if values.shape[0] == 1:
        ax.plot(x, values[0], color=colour, lw=lw, ls=ls, label=label)
        return
    import warnings

    with warnings.catch_warnings():  # a minute where every run is NaN (log axes) stays a gap
        warnings.simplefilter("ignore", RuntimeWarning)
        lo, med, hi = np.nanquantile(values, [0.05, 0.5, 0.95], axis=0)
    ax.fill_between(x, lo, hi, color=colour, alpha=0.22, lw=0,
                    label=f"{label}: 5–95% of {values.shape[0]} runs")
    ax.plot(x, med, color=colour, lw=lw, ls=ls, label=f"{label} (median)")


def history_points(runset: RunSet, unit: str = "hosts") -> list[Any]:
    """Timed observations of the scenario's event in ``unit`` (empty when history has none)."""
    try:
        from wormlab.history import for_event
    except ImportError:
        return []
    try:
        found = for_event(runset.name)
    except InputError:
        return []
    return [o for o in found if o.value is not None and o.at is not None and o.unit == unit]


def _thousands(ax: Any) -> None:
    import matplotlib.ticker as mticker

    def fmt(v: float, _pos: Any) -> str:
        if abs(v) >= 1e6:
            return f"{v / 1e6:g}M"
        if abs(v) >= 1e3:
            return f"{v / 1e3:g}k"
        return f"{v:g}"

    ax.yaxis.set_major_formatter(mticker.FuncFormatter(fmt))


def _time_axis(ax: Any, runset: RunSet) -> None:
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator(minticks=4, maxticks=9)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b\n%H:%M"))
    ax.set_xlabel("time (UTC)")
    ax.grid(alpha=0.25, lw=0.6)
    draw_markers(ax, _markers(runset))


def _markers(runset: RunSet) -> list[Marker]:
    ts = runset.first.timeseries
    return defence_markers(runset.scenario, ts["time"].iloc[0], ts["time"].iloc[-1])


def draw_infection(ax: Any, runset: RunSet) -> None:
    """Ever infected, infected now and patched, with the published observations overlaid."""
    for column, colour, label, ls in (("ever_infected", RED, "ever infected", "-"),
                                      ("infected", ORANGE, "infected now", "-"),
                                      ("patched", BLUE, "patched", "--")):
        times, values = stack(runset, column)
        draw_series(ax, times, values, colour, label, lw=1.8 if column == "ever_infected" else 1.2, ls=ls)
    marks = {"more_than": "^", "less_than": "v", "about": "o", "exactly": "s"}
    for i, obs in enumerate(history_points(runset)):
        ax.plot(naive_utc(obs.at), obs.value, marks.get(obs.relation, "o"), ms=6, mfc="white",
                mec="black", mew=1.1, zorder=5,
                label="observed (▲ more than, ▼ less than)" if i == 0 else None)
        ax.annotate(f"{obs.describe()}\n({obs.source_short})", (naive_utc(obs.at), obs.value),
                    xytext=(6, -7), textcoords="offset points", ha="left", va="top", fontsize=6.5)
    ax.set_ylabel("hosts")
    _thousands(ax)
    ax.set_ylim(bottom=0)
    _time_axis(ax, runset)
    ax.legend(loc="upper left", frameon=False)


def draw_rate(ax: Any, runset: RunSet) -> None:
    """New infections per minute; the published peak as a dashed line when history has one."""
    times, values = stack(runset, "new_infections", per_minute=True)
    draw_series(ax, times, values, RED, "simulated", lw=1.2)
    try:
        from wormlab.history import for_event

        peaks = [o for o in for_event(runset.name) if o.unit == "hosts per minute" and o.value]
    except (ImportError, InputError):
        peaks = []
    for obs in peaks:
        ax.axhline(obs.value, color="black", lw=0.9, ls="--",
                   label=f"observed peak: {obs.describe()} ({obs.source_short})")
    ax.set_ylabel("new infections per minute")
    _thousands(ax)
    top = max([float(np.nanmax(values))] + [o.value for o in peaks] + [1.0])
    ax.set_ylim(0, top * 1.45)
    _time_axis(ax, runset)
    ax.legend(loc="upper right", frameon=False)


def draw_traffic(ax: Any, runset: RunSet) -> None:
    """Scan traffic: probes sent per second, and those landing on vulnerable hosts (log scale)."""
    ts = runset.first.timeseries
    per_s = 1.0 / row_seconds(ts)
    for column, colour, label in (("probes_sent", GREY, "probes sent"),
                                  ("hits_on_vulnerable", RED, "probes hitting vulnerable hosts")):
        times, values = stack(runset, column)
        draw_series(ax, times, np.where(values > 0, values * per_s, np.nan), colour, label, lw=1.2)
    ax.set_yscale("log")
    ax.set_ylabel("probes per second")
    _time_axis(ax, runset)
    ax.legend(loc="lower right", frameon=False)


def draw_flood(ax: Any, runset: RunSet) -> None:
    """Load at the flood target in packets per second, with bytes per second on the right axis."""
    ts = runset.first.timeseries
    times, values = stack(runset, "flood_packets_to_target")
    pps = values / row_seconds(ts)
    target = runset.first.summary.get("flood_target", "the target")
    draw_series(ax, times, pps, RED, f"packets to {target}", lw=1.2)
    ax.set_ylabel("packets per second")
    _thousands(ax)
    ax.set_ylim(bottom=0)
    packet_bytes = getattr(getattr(runset.scenario, "worm", None), "flood_packet_bytes", None)
    if packet_bytes:
        right = ax.secondary_yaxis("right", functions=(lambda p: p * packet_bytes * 8 / 1e6,
                                                       lambda m: m * 1e6 / 8 / packet_bytes))
        right.set_ylabel("megabits per second")
    if not np.nansum(pps):
        ax.text(0.5, 0.5, "no flood in this window\n(the calendar floods on days 20–27)",
                transform=ax.transAxes, ha="center", va="center", color=GREY)
    _time_axis(ax, runset)
    ax.legend(loc="upper left", frameon=False)


DRAW = {"infection": draw_infection, "rate": draw_rate, "traffic": draw_traffic, "flood": draw_flood}
TITLES = {"infection": "hosts infected", "rate": "new infections", "traffic": "scan traffic",
          "flood": "flood load at the target"}


def title_of(runset: RunSet, kind: str) -> str:
    runs = len(runset.runs)
    who = f"seed {runset.first.summary.get('seed')}" if runs == 1 else f"{runs} runs"
    point = ", ".join(f"{k.rsplit('.', 1)[-1]}={v}" for k, v in runset.parameters.items())
    return f"{runset.name} ({who}{'; ' + point if point else ''}): {TITLES.get(kind, kind)}"


def figure(runset: RunSet, kind: str, at: Any = None, width_in: float = COLUMN_WIDTH_IN) -> Any:
    """A matplotlib Figure of ``kind`` (one of KINDS)."""
    if kind not in KINDS:
        raise InputError(f"unknown --kind {kind!r}; choose one of {', '.join(KINDS)}")
    plt = _pyplot()
    if kind == "map":
        return map_figure(runset, at, width_in)
    fig, ax = plt.subplots(figsize=(width_in, width_in * 0.52), constrained_layout=True)
    DRAW[kind](ax, runset)
    ax.set_title(title_of(runset, kind), loc="left")
    return fig


def map_figure(runset: RunSet, at: Any = None, width_in: float = COLUMN_WIDTH_IN) -> Any:
    """The IPv4 Hilbert map at ``at`` (UTC; default: end of the run), with /8 labels and a key."""
    import matplotlib.colors as mcolors

    from wormlab.report import hilbert

    hosts = runset.hosts
    if hosts is None:
        raise InputError(f"{runset.source}: no hosts.parquet, so no map (re-run without dropping it)")
    bits = getattr(getattr(runset.scenario, "internet", None), "address_bits", 32)
    when = hilbert.utc(at) if at is not None else runset.first.timeseries["time"].iloc[-1]
    vulnerable, infected = hilbert.block_counts(hosts, when, bits)
    plt = _pyplot()
    size = min(width_in, 6.0)
    fig, ax = plt.subplots(figsize=(size, size * 1.08), constrained_layout=True)
    ax.imshow(hilbert.map_rgb(vulnerable, infected), interpolation="nearest")
    if bits == 32:
        for octet, (x, y) in hilbert.slash8_centres().items():
            if vulnerable[octet * 256:(octet + 1) * 256].any():
                ax.text(x, y, str(octet), ha="center", va="center", fontsize=5, color="white", alpha=0.75)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(f"{runset.name}: IPv4 by /16 on a Hilbert curve, {when:%Y-%m-%d %H:%M} UTC\n"
                 f"{int(infected.sum()):,} of {int(vulnerable.sum()):,} vulnerable hosts ever infected",
                 loc="left")
    cmap = mcolors.LinearSegmentedColormap.from_list(
        "share", [hilbert.CLEAN_RGB / 255, hilbert.INFECTED_RGB / 255])
    sm = plt.cm.ScalarMappable(norm=mcolors.Normalize(0, 1), cmap=cmap)
    bar = fig.colorbar(sm, ax=ax, orientation="horizontal", fraction=0.04, pad=0.02)
    bar.set_label("share of the /16's vulnerable hosts infected (brighter = more vulnerable hosts; "
                  "dark = none)", fontsize=7)
    return fig


def output_format(path: str | Path, allowed: tuple[str, ...] = FORMATS) -> str:
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in allowed:
        raise InputError(f"{path}: unknown figure format {suffix or '(none)'!r}; use "
                         + ", ".join(f".{a}" for a in allowed))
    return suffix


def check_writable(path: str | Path) -> Path:
    """Fail early, with one line, when the output's folder is missing or not writable."""
    import os

    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise InputError(f"{path}: cannot write: folder {folder} does not exist")
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise InputError(f"{path}: cannot write: permission denied")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, give a file name")
    return path


def save_figure(runset: RunSet, kind: str, path: str | Path, at: Any = None, frames: int = 48) -> Path:
    """Write ``kind`` to ``path`` (.png/.svg/.pdf; the map also .gif, an animation)."""
    from wormlab.result import atomic_write

    if kind not in KINDS:
        raise InputError(f"unknown --kind {kind!r}; choose one of {', '.join(KINDS)}")
    fmt = output_format(path, FORMATS + (("gif",) if kind == "map" else ()))
    path = check_writable(path)
    if fmt == "gif":
        return atomic_write(path, lambda p: animate_map(runset, p, frames))
    plt = _pyplot()
    fig = figure(runset, kind, at)
    try:
        atomic_write(path, lambda p: fig.savefig(p, format=fmt, dpi=200))
    finally:
        plt.close(fig)
    return path


def animate_map(runset: RunSet, path: str, frames: int = 48) -> int:
    """The map over the run as an animated GIF, ``frames`` evenly spaced times."""
    import pandas as pd

    from wormlab.report import hilbert

    if runset.hosts is None:
        raise InputError(f"{runset.source}: no hosts.parquet, so no map")
    ts = runset.first.timeseries
    start, end = ts["time"].iloc[0], ts["time"].iloc[-1]
    times = list(pd.date_range(start, end, periods=max(2, frames)))
    bits = getattr(getattr(runset.scenario, "internet", None), "address_bits", 32)
    return hilbert.save_map_animation(runset.hosts, times, path, bits)
