"""Reduce an ensemble to what a reader compares: quantile bands, containment, per-point tables.

All functions take the pandas tables of :func:`wormlab.sweep.load` (or any frames with the
same columns), so a notebook, the CLI and the report use the same numbers.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

QUANTILES = (0.05, 0.5, 0.95)


def _qname(q: float) -> str:
    return f"q{round(q * 100):02d}"


def quantile_bands(timeseries: pd.DataFrame, column: str = "infected", by: Sequence[str] = ("point_index",),
                   quantiles: Sequence[float] = QUANTILES) -> pd.DataFrame:
    """Per time (and per group in ``by``): the quantiles of ``column`` across runs.

    Columns: ``by``..., ``time``, ``runs``, ``q05``, ``q50``, ``q95`` (names follow ``quantiles``).
    """
    keys = [*by, "time"]
    grouped = timeseries.groupby(keys, sort=True)[column]
    bands = grouped.quantile(list(quantiles)).unstack(-1)
    bands.columns = [_qname(q) for q in quantiles]
    bands.insert(0, "runs", grouped.size())
    return bands.reset_index()


def containment_probability(timeseries: pd.DataFrame, threshold: float, column: str = "ever_infected",
                            at: pd.Timestamp | str | None = None, by: Sequence[str] = ("point_index",)) -> pd.DataFrame:
    """Share of runs whose ``column`` is below ``threshold`` at time ``at`` (default: each run's last row).

    Columns: ``by``..., ``runs``, ``contained``, ``p_contained``.
    """
    frame = timeseries
    if at is None:
        frame = frame.sort_values("time").groupby("run_index", sort=False).tail(1)
    else:
        frame = frame[frame["time"] == pd.Timestamp(at)]
        if frame.empty:
            raise ValueError(f"no time-series row at {at}")
    below = frame.assign(_below=frame[column] < threshold)
    table = below.groupby(list(by), sort=True)["_below"].agg(runs="size", contained="sum").reset_index()
    table["contained"] = table["contained"].astype(int)
    table["p_contained"] = table["contained"] / table["runs"]
    return table


def containment_curve(timeseries: pd.DataFrame, threshold: float, column: str = "ever_infected",
                      by: Sequence[str] = ("point_index",)) -> pd.DataFrame:
    """Share of runs below ``threshold`` at every time: ``by``..., ``time``, ``p_contained``."""
    below = timeseries.assign(_below=timeseries[column] < threshold)
    table = below.groupby([*by, "time"], sort=True)["_below"].mean().rename("p_contained")
    return table.reset_index()


def point_table(summaries: pd.DataFrame, points: pd.DataFrame | None = None,
                metrics: Sequence[str] = ("ever_infected", "peak_new_infections_per_minute", "infected_at_end"),
                containment_threshold: float | None = None,
                quantiles: Sequence[float] = QUANTILES) -> pd.DataFrame:
    """One row per parameter point: swept values, finished runs, quantiles of each metric.

    With ``containment_threshold``, adds ``p_contained``: the share of runs whose
    ``ever_infected`` stayed below it.
    """
    metrics = [m for m in metrics if m in summaries]
    grouped = summaries.groupby("point_index", sort=True)
    table = grouped.size().rename("finished").to_frame()
    for metric in metrics:
        values = grouped[metric].quantile(list(quantiles)).unstack(-1)
        values.columns = [f"{metric}_{_qname(q)}" for q in quantiles]
        table = table.join(values)
    if containment_threshold is not None:
        table["p_contained"] = grouped["ever_infected"].apply(
            lambda s: float(np.mean(s < containment_threshold)))
    table = table.reset_index()
    if points is not None:
        table = points.merge(table, on="point_index", how="left")
        table["finished"] = table["finished"].fillna(0).astype(int)
    return table
