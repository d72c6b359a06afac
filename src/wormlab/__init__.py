"""wormlab: a laboratory for Internet worm outbreaks, built around Code Red (July 2001).

The public API is small::

    import wormlab
    sc = wormlab.load_scenario("codered-2001-07-19")
    res = wormlab.simulate(sc, seed=1)
    res.timeseries, res.hosts, res.summary

Heavy modules (NumPy, Numba, pandas) are imported on first use, so ``import wormlab`` and
``wormlab --help`` stay fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["load_scenario", "simulate", "Result", "Scenario", "WormlabError", "__version__"]

if TYPE_CHECKING:  # pragma: no cover
    from wormlab.engine.simulate import simulate
    from wormlab.errors import WormlabError
    from wormlab.result import Result
    from wormlab.scenario import Scenario, load_scenario

_LAZY = {
    "load_scenario": ("wormlab.scenario", "load_scenario"),
    "Scenario": ("wormlab.scenario", "Scenario"),
    "simulate": ("wormlab.engine.simulate", "simulate"),
    "Result": ("wormlab.result", "Result"),
    "WormlabError": ("wormlab.errors", "WormlabError"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module_name, attr = _LAZY[name]
        return getattr(importlib.import_module(module_name), attr)
    raise AttributeError(f"module 'wormlab' has no attribute {name!r}")
