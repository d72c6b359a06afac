"""The calibration table of the built-in Code Red 19 July 2001 scenario against what was measured.

Each row: the quantity, what was observed and where it was published, the simulated median and
range over an ensemble of seeds, the target band and whether the median falls inside it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

SCENARIO = "codered-2001-07-19"
MIDNIGHT = pd.Timestamp("2001-07-20T00:00:00Z")
NINE_HOURS = pd.Timestamp("2001-07-19T19:00:00Z")
START = pd.Timestamp("2001-07-19T10:00:00Z")


@dataclass(frozen=True)
class Check:
    quantity: str
    observed: str
    source: str
    low: float
    high: float
    measure: Callable[[Any], float]


def _ever_at(ts: pd.DataFrame, when: pd.Timestamp) -> float:
    rows = ts[ts["time"] <= when]
    return float(rows["ever_infected"].iloc[-1])


def _onset_minutes(ts: pd.DataFrame) -> float:
    """Minutes after 10:00 UTC until ever-infected first reaches 100 hosts."""
    hit = ts[ts["ever_infected"] >= 100]
    return float((hit["time"].iloc[0] - START).total_seconds() / 60.0) if len(hit) else float("nan")


CHECKS: tuple[Check, ...] = (
    Check("hosts ever infected by 00:00 UTC 20 July", "more than 359,000",
          "Moore, Shannon, Brown, ACM IMW 2002 (abstract)", 340_000, 380_000,
          lambda r: _ever_at(r.timeseries, MIDNIGHT)),
    Check("peak new infections per minute", "over 2,000",
          "Moore, Shannon, Brown, ACM IMW 2002 (abstract)", 2_000, 3_000,
          lambda r: r.summary["peak_new_infections_per_minute"]),
    Check("hosts ever infected by 19:00 UTC (nine hours)", "more than 250,000",
          "CERT/CC, quoted in the seed article", 250_000, float("inf"),
          lambda r: _ever_at(r.timeseries, NINE_HOURS)),
    Check("new infections after 00:00 UTC 20 July", "none (flood phase)",
          "CAIDA; worm calendar (CERT/CC CA-2001-19)", 0, 0,
          lambda r: r.summary["new_infections_after_flood_start"]),
    Check("early doubling time (minutes)", "about 37",
          "Moore et al., Inside the Slammer Worm, IEEE S&P 2003", 37 * 0.75, 37 * 1.25,
          lambda r: r.summary["early_doubling_minutes"] or float("nan")),
    Check("onset: minutes after 10:00 UTC to reach 100 hosts", "outbreak began about 10:00 UTC",
          "CAIDA Code-Red dataset README", 0, 180,
          lambda r: _onset_minutes(r.timeseries)),
)


@dataclass
class Row:
    quantity: str
    observed: str
    source: str
    simulated_median: float
    simulated_min: float
    simulated_max: float
    target: str
    passed: bool


def _target(low: float, high: float) -> str:
    if low == high:
        return f"= {low:,.0f}"
    if high == float("inf"):
        return f">= {low:,.0f}"
    fmt = "{:,.0f}" if float(low).is_integer() and float(high).is_integer() else "{:,.2f}"
    return f"[{fmt.format(low)}, {fmt.format(high)}]"


def calibration_table(runs: int = 20, root_seed: int = 0, progress: Callable[[int, int], None] | None = None) -> tuple[list[Row], dict[str, Any]]:
    """Run ``runs`` seeds of the scenario and compare with the observations."""
    from wormlab.engine.simulate import simulate
    from wormlab.scenario import load_scenario

    sc = load_scenario(SCENARIO)
    values = np.empty((runs, len(CHECKS)))
    flood_pps, flood_bps = [], []
    for i in range(runs):
        res = simulate(sc, seed=root_seed + i)
        values[i] = [c.measure(res) for c in CHECKS]
        flood_pps.append(res.summary["flood_peak_packets_per_s"])
        flood_bps.append(res.summary["flood_peak_bytes_per_s"])
        if progress:
            progress(i + 1, runs)
    rows = []
    for j, c in enumerate(CHECKS):
        med = float(np.median(values[:, j]))
        rows.append(Row(c.quantity, c.observed, c.source, med, float(values[:, j].min()),
                        float(values[:, j].max()), _target(c.low, c.high), bool(c.low <= med <= c.high)))
    extra = {"runs": runs, "seeds": f"{root_seed}..{root_seed + runs - 1}",
             "flood_peak_packets_per_s_median": float(np.median(flood_pps)),
             "flood_peak_bytes_per_s_median": float(np.median(flood_bps))}
    return rows, extra


def rows_as_dicts(rows: list[Row]) -> list[dict[str, Any]]:
    return [asdict(r) for r in rows]


def _num(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 or x == int(x) else f"{x:,.1f}"


def markdown_table(rows: list[Row], extra: dict[str, Any]) -> str:
    lines = [
        f"Scenario `{SCENARIO}`, {extra['runs']} seeds ({extra['seeds']}); pass = median inside the target.",
        "",
        "| quantity | observed | source | simulated median | simulated range | target | pass |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r.quantity} | {r.observed} | {r.source} | {_num(r.simulated_median)} | "
                     f"{_num(r.simulated_min)} – {_num(r.simulated_max)} | {r.target} | {'yes' if r.passed else 'NO'} |")
    lines += ["", (f"Flood at 198.137.240.91 on 20 July (median of peaks): "
              f"{extra['flood_peak_packets_per_s_median']:,.0f} packets/s, "
              f"{extra['flood_peak_bytes_per_s_median'] / 1e6:,.1f} MB/s (per-host flood rate is an assumption).")]
    return "\n".join(lines)
