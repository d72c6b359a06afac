"""What a run produces: a time series, a per-host table and a summary, and how they are saved.

Files are written under a temporary name and renamed into place, so an interrupted run never
leaves a half-written file behind.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from wormlab.defenses.renumber import flood_columns
from wormlab.engine import records
from wormlab.scenario import Scenario

TIMESERIES_COLUMNS = ("time", *records.REC_FIELDS)


def iso_utc(ts: pd.Timestamp | Any) -> str:
    """ISO 8601 in UTC with a trailing Z, e.g. ``2001-07-19T19:00:00Z``."""
    return pd.Timestamp(ts).tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Result:
    """One run: ``timeseries`` (one row per record interval), ``hosts`` (one row per vulnerable
    host) and ``summary`` (a JSON-ready dict)."""

    scenario: Scenario
    seed: int
    timeseries: pd.DataFrame
    hosts_table: pd.DataFrame | Callable[[], pd.DataFrame]
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def hosts(self) -> pd.DataFrame:
        """One row per vulnerable host; built on first use (a large population's table is big)."""
        if callable(self.hosts_table):
            self.hosts_table = self.hosts_table()
        return self.hosts_table

    def to_dir(self, out: str | Path, plot: bool = True) -> list[Path]:
        """Write timeseries.parquet, hosts.parquet, summary.json (and infection.png) into ``out``."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        written = [
            atomic_write(out / "timeseries.parquet", lambda p: self.timeseries.to_parquet(p, index=False)),
            atomic_write(out / "hosts.parquet", lambda p: self.hosts.to_parquet(p, index=False)),
            atomic_write(out / "scenario.json", lambda p: Path(p).write_text(self.scenario.model_dump_json(indent=2, by_alias=True))),
            atomic_write(out / "summary.json", lambda p: Path(p).write_text(json.dumps(self.summary, indent=2) + "\n")),
        ]
        if self.scenario.network is not None:  # one row per organisation (docs/defenses.md)
            from wormlab.defenses.org_view import org_table

            written.append(atomic_write(out / "orgs.parquet", lambda p: org_table(self).to_parquet(p, index=False)))
        if plot:
            from wormlab.report.infection_plot import save_infection_png

            written.append(atomic_write(out / "infection.png", lambda p: save_infection_png(self, p)))
        return written


def atomic_write(path: Path, write: Callable[[str], Any]) -> Path:
    """Call ``write(tmp_path)`` then rename the temporary file onto ``path``."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; results are ordinary files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def build_result(sc: Scenario, seed: int, pop, rec: np.ndarray, dt_s: float, steps_per_row: int,
                 n_steps: int, wall_s: float, worms: dict | None = None) -> Result:
    """The Result of a run; ``worms`` (competing worms, ``engine/strains.per_worm``) adds the
    per-worm columns, the host table's ``worm`` and the summary's ``worms``."""
    start = pd.Timestamp(sc.time.start)
    row_s = steps_per_row * dt_s
    offsets = np.minimum(np.arange(rec.shape[0]) * steps_per_row, n_steps) * dt_s
    ts = pd.DataFrame(rec, columns=list(records.REC_FIELDS))
    ts.insert(0, "time", start + pd.to_timedelta(offsets, unit="s"))
    ts = ts[list(TIMESERIES_COLUMNS)]
    flood_columns(sc, ts, pop.address.size)  # at the old and new address when the target is renumbered
    if worms is not None:
        _worm_columns(ts, worms)
    start_ns = np.int64(start.value)
    dt_ns = np.int64(round(dt_s * 1e9))

    def at(col: int) -> pd.DatetimeIndex:
        step = pop.infection[:, col].astype(np.int64)
        ns = np.where(step >= 0, start_ns + step * dt_ns, np.iinfo(np.int64).min)  # min = NaT
        return pd.DatetimeIndex(ns.view("datetime64[ns]"), tz="UTC")

    def hosts() -> pd.DataFrame:
        state = (pop.state & records.STATE_MASK).astype(np.int8)
        return pd.DataFrame(
            {
                "address": pop.address,
                "state": pd.Categorical.from_codes(state, categories=list(records.STATE_NAMES)),
                "infected_at": at(0),
                "infected_by": pop.infection[:, 1],
                "last_cured_at": at(2),
                "probe_rate_per_s": pop.probe_rate_per_s.astype(np.float32),
                **({} if worms is None else  # the worm of the first infection
                   {"worm": pd.Categorical.from_codes(worms["first"], categories=worms["names"])}),
            }
        )

    result = Result(scenario=sc, seed=seed, timeseries=ts, hosts_table=hosts)
    result.summary = summarise(sc, seed, ts, row_s, wall_s)
    if worms is not None:
        result.summary["worms"] = _worm_summary(ts, worms, row_s)
    return result


def _worm_columns(ts: pd.DataFrame, worms: dict) -> None:
    """``infected_<worm>`` (at the row's end), ``new_infections_<worm>`` and ``ever_infected_<worm>``."""
    from wormlab.worms.competitors import column_suffix

    nw, rec = worms["nw"], worms["rec"]
    for w, name in enumerate(worms["names"]):
        sfx = column_suffix(name)
        ts[f"infected_{sfx}"] = rec[:, w]
        ts[f"new_infections_{sfx}"] = rec[:, nw + w]
        ts[f"ever_infected_{sfx}"] = np.cumsum(rec[:, 2 * nw + w])


def _worm_summary(ts: pd.DataFrame, worms: dict, row_s: float) -> dict[str, Any]:
    """Per worm: hosts it infected first, hosts it holds at the end, its peak of new infections."""
    from wormlab.worms.competitors import column_suffix

    out = {}
    for name in worms["names"]:
        sfx = column_suffix(name)
        per_minute = ts[f"new_infections_{sfx}"].to_numpy() * (60.0 / row_s)
        i_peak = int(np.argmax(per_minute))
        out[name] = {
            "ever_infected": int(ts[f"ever_infected_{sfx}"].iloc[-1]),
            "infected_at_end": int(ts[f"infected_{sfx}"].iloc[-1]),
            "peak_new_infections_per_minute": float(per_minute[i_peak]),
            "peak_time": iso_utc(ts["time"].iloc[i_peak]),
        }
    return out


def early_doubling_minutes(t_ns: np.ndarray, ever: np.ndarray, vulnerable: int) -> float | None:
    """Doubling time of ever-infected in the early exponential phase (0.1% to 2% of hosts), from
    row times (``_time_ns``) and ever-infected counts."""
    ever = ever.astype(float)
    lo, hi = max(vulnerable * 0.001, 20), vulnerable * 0.02
    mask = (ever >= lo) & (ever <= hi)
    if mask.sum() < 3:
        return None
    t_min = (t_ns[mask] - t_ns[0]) / 60e9
    # the least-squares slope in closed form: np.polyfit would call LAPACK, whose OpenBLAS threads
    # then spin on the other core for a while after every run
    y = np.log(ever[mask])
    dt = t_min - t_min.mean()
    slope = float((dt * (y - y.mean())).sum() / (dt * dt).sum())
    return float(math.log(2) / slope) if slope > 0 else None


def _time_ns(ts: pd.DataFrame) -> np.ndarray:
    """The ``time`` column as int64 nanoseconds since 1970 UTC (NumPy, not pandas, arithmetic)."""
    return ts["time"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy().astype("datetime64[ns]").astype(np.int64)


def _iso_ns(t_ns: int) -> str:
    return np.datetime_as_string(np.datetime64(int(t_ns), "ns"), unit="s") + "Z"


def summarise(sc: Scenario, seed: int, ts: pd.DataFrame, row_s: float, wall_s: float) -> dict[str, Any]:
    """The summary contract of ``summary.json`` (listed in docs/ARCHITECTURE.md, "Results")."""
    per_minute = ts["new_infections"].to_numpy() * (60.0 / row_s)
    i_peak = int(np.argmax(per_minute)) if len(per_minute) else 0
    t_ns = _time_ns(ts)
    on_hour = np.flatnonzero(t_ns % 3_600_000_000_000 == 0)
    v = sc.internet.vulnerable_hosts
    ever = ts["ever_infected"].to_numpy()
    infected = ts["infected"].to_numpy()
    new_inf = ts["new_infections"].to_numpy()
    half = np.flatnonzero(ever >= v / 2)
    flood_rows = ts["flood_packets_to_target"].to_numpy()
    flood_pps = flood_rows / row_s
    flood_start = _first_phase_time(sc, "flood")
    after_flood = t_ns > flood_start.value if flood_start is not None else np.zeros(len(t_ns), dtype=bool)
    doubling = early_doubling_minutes(t_ns, ever, v)
    return {
        "scenario": sc.name,
        "seed": seed,
        "vulnerable_hosts": v,
        "start": iso_utc(sc.time.start),
        "end": iso_utc(sc.time.end),
        "ever_infected": int(ever[-1]),
        "infected_at_end": int(infected[-1]),
        "patched_at_end": int(ts["patched"].iloc[-1]),
        "peak_new_infections_per_minute": float(per_minute[i_peak]),
        "peak_time": _iso_ns(t_ns[i_peak]),
        "time_to_half_vulnerable": _iso_ns(t_ns[half[0]]) if half.size else None,
        "early_doubling_minutes": round(doubling, 2) if doubling else None,
        "hourly": [
            {"time": _iso_ns(t_ns[i]), "ever_infected": int(ever[i]), "infected": int(infected[i])}
            for i in on_hour
        ],
        "probes_total": int(ts["probes_sent"].sum()),
        "new_infections_after_flood_start": int(new_inf[after_flood].sum()),
        "flood_target": sc.worm.flood_target,
        "flood_packets_total": int(flood_rows.sum()),
        "flood_peak_packets_per_s": float(flood_pps.max()),
        "flood_peak_bytes_per_s": float(flood_pps.max() * sc.worm.flood_packet_bytes),
        "step_s": sc.time.step_s,
        "wall_seconds": round(wall_s, 4),
    }


def _first_phase_time(sc: Scenario, action: str) -> pd.Timestamp | None:
    """First midnight in the window whose day of month is in a calendar phase ``action``."""
    days = {d for ph in sc.worm.calendar if ph.action == action for d in range(ph.days[0], ph.days[1] + 1)}
    day = pd.Timestamp(sc.time.start).normalize()
    end = pd.Timestamp(sc.time.end)
    while day < end:
        if day.day in days:
            return max(day, pd.Timestamp(sc.time.start))
        day += pd.Timedelta(days=1)
    return None
