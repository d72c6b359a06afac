"""Read what figures and reports draw from: one run folder, or an ensemble of runs.

A *run folder* is what ``wormlab run`` writes (timeseries.parquet, summary.json, scenario.json,
hosts.parquet). An *ensemble* is a sweep folder (with sweep.json), read through
``wormlab.sweep.load``, or a folder whose sub-folders are run folders. Everything downstream sees a :class:`RunSet`: a list of :class:`RunData`, so a figure
never cares where its runs came from.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wormlab.errors import InputError

RUN_FILES = ("timeseries.parquet", "summary.json")


@dataclass
class RunData:
    """One run as figures need it; ``hosts`` may be None (not every store keeps the host table)."""

    timeseries: Any  # pandas DataFrame, one row per record interval, ``time`` in UTC
    summary: dict[str, Any]
    scenario: Any | None = None  # wormlab.scenario.Scenario when known
    hosts: Any | None = None
    label: str = ""

    @classmethod
    def from_result(cls, result: Any, label: str = "") -> RunData:
        """Wrap an in-memory ``wormlab.Result`` (the dashboard and notebooks use this)."""
        return cls(result.timeseries, dict(result.summary), result.scenario, result.hosts,
                   label or f"seed {result.seed}")


@dataclass
class RunSet:
    """The runs of one folder; ``kind`` is "run" (one) or "ensemble" (several)."""

    runs: list[RunData]
    source: str
    kind: str = "run"
    parameters: dict[str, Any] = field(default_factory=dict)

    @property
    def first(self) -> RunData:
        return self.runs[0]

    @property
    def scenario(self) -> Any | None:
        return self.runs[0].scenario

    @property
    def name(self) -> str:
        return str(self.runs[0].summary.get("scenario", Path(self.source).name))

    @property
    def hosts(self) -> Any | None:
        """The host table of the first run that has one (the map draws one run)."""
        return next((r.hosts for r in self.runs if r.hosts is not None), None)


def is_run_dir(path: Path) -> bool:
    return all((path / name).is_file() for name in RUN_FILES)


def load_run_dir(path: Path, with_hosts: bool = True) -> RunData:
    """Read one run folder; a damaged file becomes an InputError naming it."""
    import pandas as pd

    try:
        ts = pd.read_parquet(path / "timeseries.parquet")
        summary = json.loads((path / "summary.json").read_text(encoding="utf-8"))
        hosts = None
        if with_hosts and (path / "hosts.parquet").is_file():
            hosts = pd.read_parquet(path / "hosts.parquet")
    except (OSError, ValueError) as err:  # pyarrow's errors derive from these
        raise InputError(f"{path}: cannot read the run: {err}") from None
    if "time" not in ts.columns or "ever_infected" not in ts.columns:
        raise InputError(f"{path}/timeseries.parquet: not a wormlab time series (no time/ever_infected)")
    ts = ts.copy()
    ts["time"] = pd.to_datetime(ts["time"], utc=True)
    return RunData(ts, summary, _scenario_of(path), hosts, f"seed {summary.get('seed', '?')}")


def _scenario_of(path: Path) -> Any | None:
    """The run's Scenario from scenario.json, or None when absent or from an older schema."""
    file = path / "scenario.json"
    if not file.is_file():
        return None
    from wormlab.errors import WormlabError
    from wormlab.scenario import scenario_from_dict

    try:
        return scenario_from_dict(json.loads(file.read_text(encoding="utf-8")), origin=str(file))
    except (WormlabError, ValueError, OSError):
        return None


def load_runs(directory: str | Path, with_hosts: bool = True, point: int | None = None) -> RunSet:
    """A RunSet for a run folder, a sweep folder (one parameter point of it) or a folder of
    run folders; anything else is an InputError."""
    path = Path(directory)
    if not path.exists():
        raise InputError(f"{path}: no such folder")
    if not path.is_dir():
        raise InputError(f"{path}: not a folder (give a run or sweep folder written by wormlab)")
    if is_run_dir(path):
        return RunSet([load_run_dir(path, with_hosts)], str(path), "run")
    swept = _from_sweep_store(path, point)
    if swept is not None:
        return swept
    subs = sorted(p for p in path.iterdir() if p.is_dir() and is_run_dir(p))
    if subs:
        runs = [load_run_dir(p, with_hosts) for p in subs]
        for p, run in zip(subs, runs):
            run.label = p.name
        return RunSet(runs, str(path), "ensemble" if len(runs) > 1 else "run")
    raise InputError(
        f"{path}: not a run or sweep folder (expected {' and '.join(RUN_FILES)}, "
        "as written by `wormlab run`, or sub-folders holding them)"
    )


def _from_sweep_store(path: Path, point: int | None) -> RunSet | None:
    """Read a sweep folder (it has sweep.json) through ``wormlab.sweep.load``; None otherwise.

    A sweep of several parameter points is drawn one point at a time (``point``, default 0):
    a band over runs of different parameters would mean nothing.
    """
    if not (path / "sweep.json").is_file():
        return None
    try:
        from wormlab.sweep import load
    except ImportError:
        raise InputError(f"{path}: a sweep folder, but this wormlab has no sweep support") from None
    tables = load(path)
    views = list(tables.runs())
    points = sorted({int(v.summary.get("point_index", 0)) for v in views})
    if not views:
        raise InputError(f"{path}: the sweep has no finished run yet")
    chosen = points[0] if point is None else point
    if chosen not in points:
        raise InputError(f"{path}: no finished runs at point {chosen}; points with runs: "
                         + ", ".join(map(str, points)))
    runs = [RunData(v.timeseries, dict(v.summary), v.scenario, None, v.label)
            for v in views if int(v.summary.get("point_index", 0)) == chosen]
    params = {k: vals[chosen] for k, vals in tables.parameters.items()}
    return RunSet(runs, str(path), "ensemble" if len(runs) > 1 else "run", params)
