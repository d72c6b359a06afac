"""The sweep directory: one Parquet file per finished run, and DuckDB views over them.

Layout::

    SWEEP_DIR/sweep.json                  the plan, its fingerprint, the store format
    SWEEP_DIR/timeseries/run-000042.parquet   run_index, point_index, then the time series
    SWEEP_DIR/summaries/run-000042.parquet    one row: run_index, point_index, replicate, seed,
                                              swept parameters, summary figures
    SWEEP_DIR/failures/run-000042.json        error, traceback and seed of a run that raised

Every file is written under a temporary name and renamed into place, and a run's summary is
written after its time series: a run is finished exactly when its summary file exists, so a
killed sweep leaves nothing half-written that a resume or a query could pick up.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wormlab.errors import InputError, WormlabError
from wormlab.sweep.spec import FORMAT_VERSION, Plan, RunSpec, param_column

PLAN_FILE = "sweep.json"
TIME_KEYS = ("start", "end", "peak_time", "time_to_half_vulnerable")


def run_name(index: int) -> str:
    return f"run-{index:06d}"


def _index_of(path: Path) -> int | None:
    stem = path.name.split(".")[0]
    if path.name.startswith("run-") and stem[4:].isdigit():
        return int(stem[4:])
    return None


class Store:
    """A sweep directory bound to one plan."""

    def __init__(self, root: Path, plan: Plan):
        self.root = Path(root)
        self.plan = plan
        for sub in ("timeseries", "summaries", "failures"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)

    def _indices(self, sub: str, suffix: str) -> set[int]:
        found = set()
        with os.scandir(self.root / sub) as entries:
            for entry in entries:
                if entry.name.endswith(suffix):
                    idx = _index_of(Path(entry.name))
                    if idx is not None:
                        found.add(idx)
        return found

    def done_indices(self) -> set[int]:
        """Runs whose summary (written last) is in place."""
        return self._indices("summaries", ".parquet")

    def failed_indices(self) -> set[int]:
        return self._indices("failures", ".json") - self.done_indices()

    def write_run(self, index: int, timeseries_parquet: bytes, summary_parquet: bytes) -> None:
        """Time series first, summary last (the summary marks the run finished)."""
        name = run_name(index)
        _write_bytes(self.root / "timeseries" / f"{name}.parquet", timeseries_parquet)
        _write_bytes(self.root / "summaries" / f"{name}.parquet", summary_parquet)
        (self.root / "failures" / f"{name}.json").unlink(missing_ok=True)

    def write_failure(self, index: int, record: dict[str, Any]) -> None:
        text = json.dumps(record, indent=2, default=str) + "\n"
        _write_bytes(self.root / "failures" / f"{run_name(index)}.json", text.encode())


def _write_bytes(path: Path, data: bytes) -> None:
    from wormlab.result import atomic_write

    atomic_write(path, lambda tmp: Path(tmp).write_bytes(data))


def _remove_partials(root: Path) -> None:
    """Temporary files of writes that a kill interrupted."""
    for sub in ("timeseries", "summaries", "failures"):
        for part in (root / sub).glob(".*.part"):
            part.unlink(missing_ok=True)


def open_store(root: str | Path, plan: Plan) -> Store:
    """Create the sweep directory, or reopen it if it holds this very plan; refuse anything else."""
    from wormlab import __version__
    from wormlab.result import atomic_write

    root = Path(root)
    plan_path = root / PLAN_FILE
    fingerprint = plan.fingerprint()
    if plan_path.exists():
        stored = read_plan_file(root)
        if stored.get("fingerprint") != fingerprint:
            raise WormlabError(
                f"{root} holds results of a different sweep definition (fingerprint "
                f"{stored.get('fingerprint')}, this one {fingerprint}); refusing to mix them: "
                "choose another --out or remove that folder"
            )
    elif root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise WormlabError(f"{root} exists and is not a sweep directory (no {PLAN_FILE}); choose another --out")
    else:
        root.mkdir(parents=True, exist_ok=True)
        body = {"fingerprint": fingerprint, "wormlab_version": __version__, **plan.to_json()}
        atomic_write(plan_path, lambda tmp: Path(tmp).write_text(json.dumps(body, indent=2, default=str) + "\n"))
    store = Store(root, plan)
    _remove_partials(root)
    return store


def read_plan_file(root: str | Path) -> dict[str, Any]:
    path = Path(root) / PLAN_FILE
    if not path.is_file():
        raise InputError(f"{root}: not a sweep directory (no {PLAN_FILE})")
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise InputError(f"{path}: cannot read: {err}") from None
    if body.get("format_version") != FORMAT_VERSION:
        raise InputError(f"{path}: store format {body.get('format_version')!r}, this wormlab reads {FORMAT_VERSION}")
    return body


def existing_store(root: str | Path) -> Store:
    """Reopen a sweep directory from its own sweep.json (for query and rerun)."""
    return Store(Path(root), Plan.from_json(read_plan_file(root)))


# ---------------------------------------------------------------------------------------------
# encoding one run (done on the worker, so the client only moves bytes)


def summary_row(spec: RunSpec, summary: dict[str, Any]):
    """One-row Arrow table: identifiers, swept parameters, then the scalar summary figures."""
    import datetime as dt

    import pyarrow as pa

    columns: dict[str, Any] = {"run_index": pa.array([spec.index], pa.int64()),
                               "point_index": pa.array([spec.point_index], pa.int64()),
                               "replicate": pa.array([spec.replicate], pa.int64()),
                               "seed": pa.array([spec.seed], pa.int64())}
    for key, value in spec.params.items():
        columns[param_column(key)] = pa.array([json.dumps(value) if isinstance(value, (list, dict)) else value])
    for key, value in summary.items():
        if key == "seed" or isinstance(value, (list, dict)):
            continue
        if key in TIME_KEYS:
            when = dt.datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None
            columns[key] = pa.array([when], pa.timestamp("us", tz="UTC"))
        else:
            columns[key] = pa.array([value], pa.float64() if value is None else None)
    return pa.table(columns)


def encode_run(spec: RunSpec, result) -> tuple[bytes, bytes]:
    """Parquet bytes of the run's time series and summary row (made on the worker)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    ts = pa.Table.from_pandas(result.timeseries, preserve_index=False)
    n = ts.num_rows
    ts = ts.add_column(0, "point_index", pa.array([spec.point_index] * n, pa.int64()))
    ts = ts.add_column(0, "run_index", pa.array([spec.index] * n, pa.int64()))
    out = []
    for table in (ts, summary_row(spec, result.summary)):
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink)
        out.append(sink.getvalue().to_pybytes())
    return out[0], out[1]


# ---------------------------------------------------------------------------------------------
# reading: DuckDB views and pandas tables

EMPTY_SUMMARIES = "SELECT NULL::BIGINT AS run_index, NULL::BIGINT AS point_index, NULL::BIGINT AS replicate, NULL::BIGINT AS seed WHERE false"
EMPTY_TIMESERIES = "SELECT NULL::BIGINT AS run_index, NULL::BIGINT AS point_index, NULL::TIMESTAMPTZ AS time WHERE false"
EMPTY_FAILURES = ("SELECT NULL::BIGINT AS run_index, NULL::BIGINT AS point_index, NULL::BIGINT AS seed, "
                  "NULL::VARCHAR AS error_type, NULL::VARCHAR AS error, NULL::VARCHAR AS traceback WHERE false")


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def connect(root: str | Path):
    """An in-memory DuckDB connection with views ``summaries``, ``timeseries``, ``failures``, ``points``."""
    import duckdb

    store = existing_store(root)
    con = duckdb.connect(":memory:")
    base = store.root.resolve()
    done = store.done_indices()
    views = {
        "summaries": (f"SELECT * FROM read_parquet({_sql_str(str(base / 'summaries' / 'run-*.parquet'))}, "
                      "union_by_name=true) ORDER BY run_index") if done else EMPTY_SUMMARIES,
        "timeseries": (f"SELECT * FROM read_parquet({_sql_str(str(base / 'timeseries' / 'run-*.parquet'))}, "
                       "union_by_name=true) WHERE run_index IN (SELECT run_index FROM summaries)")
        if done else EMPTY_TIMESERIES,
    }
    failed = store.failed_indices()
    views["failures"] = (f"SELECT run_index, point_index, seed, error_type, error, traceback, params FROM "
                         f"read_json_auto({_sql_str(str(base / 'failures' / 'run-*.json'))}) "
                         "WHERE run_index NOT IN (SELECT run_index FROM summaries) ORDER BY run_index"
                         ) if failed else EMPTY_FAILURES
    for name, sql in views.items():
        con.execute(f"CREATE VIEW {name} AS {sql}")
    con.register("_points_df", points_frame(store.plan))
    con.execute("CREATE TABLE points AS SELECT * FROM _points_df")
    con.unregister("_points_df")
    return con


def points_frame(plan: Plan):
    """One row per parameter point: point_index, runs, and the swept values."""
    import pandas as pd

    rows = []
    for i, point in enumerate(plan.points):
        row: dict[str, Any] = {"point_index": i, "runs": plan.runs_per_point}
        for key, value in point.items():
            row[param_column(key)] = json.dumps(value) if isinstance(value, (list, dict)) else value
        rows.append(row)
    return pd.DataFrame(rows)


@dataclass
class SweepTables:
    """A sweep's results as pandas DataFrames."""

    summaries: Any
    timeseries: Any
    failures: Any
    points: Any
    plan: Plan

    @property
    def parameters(self) -> dict[str, list[Any]]:
        """Swept key -> the values taken, in point order."""
        return {key: [p[key] for p in self.plan.points] for key in self.plan.param_keys}

    def runs(self) -> list[RunView]:
        """One view per finished run: its time series and summary (ISO times, as in summary.json)."""
        import pandas as pd

        from wormlab.result import iso_utc

        by_run = dict(tuple(self.timeseries.groupby("run_index"))) if self.timeseries is not None else {}
        scenarios: dict[int, Any] = {}
        views = []
        for row in self.summaries.to_dict("records"):
            index = int(row["run_index"])
            summary = {k: (iso_utc(v) if k in TIME_KEYS and not pd.isna(v) else v) for k, v in row.items()}
            point = int(row["point_index"])
            if point not in scenarios:
                scenarios[point] = self.plan.scenario_of(index)
            ts = by_run.get(index)
            if ts is not None:
                ts = ts.drop(columns=["run_index", "point_index"]).reset_index(drop=True)
            views.append(RunView(ts, summary, scenarios[point], f"run {index} (seed {row['seed']})"))
        return views


@dataclass
class RunView:
    """One finished run of a sweep, shaped like a run folder (for figures and reports)."""

    timeseries: Any
    summary: dict[str, Any]
    scenario: Any
    label: str


def load(root: str | Path, timeseries: bool = True) -> SweepTables:
    """Read a sweep (or ensemble) directory: summaries, time series, failures and points."""
    con = connect(root)
    try:
        return SweepTables(
            summaries=con.execute("SELECT * FROM summaries").df(),
            timeseries=con.execute("SELECT * FROM timeseries ORDER BY run_index, time").df() if timeseries else None,
            failures=con.execute("SELECT * FROM failures").df(),
            points=con.execute("SELECT * FROM points").df(),
            plan=existing_store(root).plan,
        )
    finally:
        con.close()
