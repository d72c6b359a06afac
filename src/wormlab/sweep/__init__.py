"""Ensembles and parameter sweeps on Dask, with a Parquet + DuckDB result store.

``wormlab.sweep.load(SWEEP_DIR)`` gives the results as pandas DataFrames; ``connect`` gives a
DuckDB connection with the views ``summaries``, ``timeseries``, ``failures`` and ``points``.
Heavy modules load on first use, so importing this package is cheap.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "Plan",
    "connect",
    "containment_curve",
    "containment_probability",
    "ensemble_plan",
    "load",
    "load_sweep_file",
    "point_table",
    "quantile_bands",
    "rerun",
    "run_sweep",
]

_LAZY = {
    "load": "wormlab.sweep.store",
    "connect": "wormlab.sweep.store",
    "run_sweep": "wormlab.sweep.runner",
    "rerun": "wormlab.sweep.runner",
    "load_sweep_file": "wormlab.sweep.spec",
    "ensemble_plan": "wormlab.sweep.spec",
    "Plan": "wormlab.sweep.spec",
    "quantile_bands": "wormlab.sweep.aggregate",
    "containment_probability": "wormlab.sweep.aggregate",
    "containment_curve": "wormlab.sweep.aggregate",
    "point_table": "wormlab.sweep.aggregate",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'wormlab.sweep' has no attribute {name!r}")
