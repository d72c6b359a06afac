"""Read an outbreak time series (CSV or a simulation's ``timeseries.parquet``) for fitting.

Accepted shapes, checked up front so that a bad file gets one line naming the problem:

- CSV: a time column, ``t_hours`` (hours, any origin) or ``time`` (ISO-8601 UTC), and one
  count column: the one named with ``column=``, else the first present of
  ``infected_fraction``, ``ever_infected``, ``infected``, ``count``.
- Parquet (``wormlab run`` output): ``time`` (UTC datetime) and ``ever_infected`` by default.

Times become hours since the first row; the first row's UTC time is kept when known.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from wormlab.errors import InputError

TIME_COLUMNS = ("t_hours", "time")
COUNT_COLUMNS = ("infected_fraction", "ever_infected", "infected", "count")
PARQUET_DEFAULT_COLUMN = "ever_infected"


@dataclass(frozen=True)
class Series:
    """One curve: hours since the first row, the values, and where it came from."""

    t_hours: np.ndarray
    values: np.ndarray
    column: str
    source: str
    start_time: Any = None  # pandas Timestamp (UTC) of t_hours == 0, when the file had times

    @property
    def is_fraction(self) -> bool:
        """A share of the vulnerable population (bounded by 1) rather than a host count."""
        return "fraction" in self.column

    def until(self, t_max_hours: float | None) -> Series:
        """The part of the series up to ``t_max_hours`` (e.g. before a calendar stop)."""
        if t_max_hours is None:
            return self
        keep = self.t_hours <= t_max_hours
        return Series(self.t_hours[keep], self.values[keep], self.column, self.source, self.start_time)


def read_series(path: str | Path, column: str | None = None) -> Series:
    """Read ``path`` (.csv or .parquet) into a checked Series, or raise InputError."""
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            frame = pd.read_csv(path)
        elif suffix == ".parquet":
            frame = pd.read_parquet(path)
        else:
            raise InputError(f"{path}: unknown series format {suffix!r} (use .csv or .parquet)")
    except InputError:
        raise
    except Exception as exc:  # pandas raises many types for unreadable files
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"{path}: cannot read: {first_line}") from None
    if suffix == ".parquet" and column is None:
        column = PARQUET_DEFAULT_COLUMN
    return series_from_frame(frame, str(path), column)


def series_from_frame(frame, source: str, column: str | None = None) -> Series:
    """Check a DataFrame's time and count columns and build a Series from them."""
    import pandas as pd

    found = ", ".join(map(str, frame.columns)) or "none"
    time_col = next((c for c in TIME_COLUMNS if c in frame.columns), None)
    if time_col is None:
        raise InputError(f"{source}: no time column: expected 't_hours' or 'time' (found: {found})")
    if column is None:
        column = next((c for c in COUNT_COLUMNS if c in frame.columns), None)
        if column is None:
            raise InputError(
                f"{source}: no count column: expected one of {', '.join(COUNT_COLUMNS)} "
                f"(found: {found})"
            )
    elif column not in frame.columns:
        raise InputError(f"{source}: no column {column!r} (found: {found})")
    if len(frame) == 0:
        raise InputError(f"{source}: the series is empty")

    start_time = None
    if time_col == "t_hours":
        t = _numeric(frame[time_col], source, time_col)
    else:
        try:
            times = pd.to_datetime(frame[time_col], utc=True)
        except (ValueError, TypeError):
            raise InputError(f"{source}: column 'time' is not ISO-8601 UTC times") from None
        if times.isna().any():
            row = int(np.flatnonzero(times.isna().to_numpy())[0])
            raise InputError(f"{source}: column 'time' has a missing value at row {row + 1}")
        start_time = times.iloc[0]
        t = (times - start_time).dt.total_seconds().to_numpy(dtype=float) / 3600.0
    values = _numeric(frame[column], source, column)

    steps = np.diff(t)
    if np.any(steps <= 0):
        row = int(np.flatnonzero(steps <= 0)[0]) + 2
        raise InputError(f"{source}: time is not strictly increasing (at row {row})")
    if np.any(values < 0):
        row = int(np.flatnonzero(values < 0)[0]) + 1
        raise InputError(f"{source}: column {column!r} has a negative value at row {row}")
    return Series(t - t[0], values, column, source, start_time)


def _numeric(col, source: str, name: str) -> np.ndarray:
    """A float array with no NaN or infinity, or an InputError naming the first bad row."""
    import pandas as pd

    values = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(values)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raw = col.iloc[row]
        what = "NaN" if (isinstance(raw, float) and np.isnan(raw)) or raw is None else repr(raw)
        raise InputError(f"{source}: column {name!r} has {what} at row {row + 1} (need numbers)")
    return values
