"""The infection curve of one run as a PNG: what ``wormlab run`` draws next to its results.

Two panels on one UTC time axis: hosts (ever infected, infected now, patched, with the published
observations of the scenario's event) above, new infections per minute below; defence and
calendar changes are marked on both.
"""

from __future__ import annotations

from typing import Any


def save_infection_png(result: Any, path: str) -> None:
    """Draw ``result`` (a ``wormlab.Result``) to ``path`` as a PNG."""
    from wormlab.report.figures import COLUMN_WIDTH_IN, _pyplot, draw_infection, draw_rate
    from wormlab.report.runset import RunData, RunSet

    runset = RunSet([RunData.from_result(result)], source=result.summary.get("scenario", ""))
    plt = _pyplot()
    fig, (ax, ax2) = plt.subplots(2, 1, figsize=(COLUMN_WIDTH_IN, 5.6), sharex=True,
                                  height_ratios=(2, 1), constrained_layout=True)
    draw_infection(ax, runset)
    ax.set_xlabel("")
    ax.set_title(f"{runset.name} (seed {result.seed}): {result.summary['ever_infected']:,} hosts ever infected",
                 loc="left")
    draw_rate(ax2, runset)
    handles, labels = ax2.get_legend_handles_labels()  # markers are already in the top legend
    keep = [(h, lab) for h, lab in zip(handles, labels) if not lab.startswith(("patch", "worm"))]
    ax2.legend(*zip(*keep), loc="upper right", frameon=False)
    fig.savefig(path, dpi=150, format="png")
    plt.close(fig)
