"""Side by side: the baseline and each defence of a scenario (alone, then all together), over a
few seeds, reduced to what each buys: hosts ever infected by midnight, the peak infection rate,
and the flood that reaches the target."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass
class CompareRow:
    name: str
    ever_infected_at_midnight: float
    peak_new_per_minute: float
    flood_packets_at_target: float
    hits_blocked: float
    wall_s: float


def variants(sc, only: list[str] | None = None) -> list[tuple[str, object]]:
    """(name, scenario) pairs: baseline, each defence alone, and all of them together."""
    defs = list(sc.defenses)
    out = [("baseline", sc.model_copy(update={"defenses": []}))]
    for d in defs:
        if only and d.name not in only and d.kind not in only:
            continue
        out.append((d.name, sc.model_copy(update={"defenses": [d]})))
    if len(defs) > 1 and not only:
        out.append(("all together", sc))
    return out


def _midnight(sc) -> pd.Timestamp:
    start = pd.Timestamp(sc.time.start)
    night = start.normalize() + pd.Timedelta(days=1)
    return min(night, pd.Timestamp(sc.time.end))


def compare(sc, seeds: list[int], only: list[str] | None = None, progress=None) -> list[CompareRow]:
    """Run every variant over ``seeds``; means over seeds."""
    from wormlab.engine.simulate import simulate

    rows = []
    for name, variant in variants(sc, only):
        vals = []
        for seed in seeds:
            res = simulate(variant, seed=seed)
            ts = res.timeseries
            ever = ts.loc[ts["time"] <= _midnight(sc), "ever_infected"].iloc[-1]
            flood_col = "flood_packets_at_old_address" if "flood_packets_at_old_address" in ts else "flood_packets_to_target"
            vals.append((ever, res.summary["peak_new_infections_per_minute"], ts[flood_col].sum(),
                         ts["hits_blocked"].sum(), res.summary["wall_seconds"]))
            if progress is not None:
                progress(name, seed)
        m = np.mean(np.array(vals, dtype=float), axis=0)
        rows.append(CompareRow(name, *m.tolist()))
    return rows


def markdown(rows: list[CompareRow], n_seeds: int) -> str:
    head = (f"| variant (mean of {n_seeds} seeds) | ever infected by 24:00 | peak new / min | "
            "flood packets at target | hits blocked | wall s |\n|---|---:|---:|---:|---:|---:|")
    lines = [head]
    for r in rows:
        lines.append(f"| {r.name} | {r.ever_infected_at_midnight:,.0f} | {r.peak_new_per_minute:,.0f} | "
                     f"{r.flood_packets_at_target:,.0f} | {r.hits_blocked:,.0f} | {r.wall_s:.2f} |")
    return "\n".join(lines)
