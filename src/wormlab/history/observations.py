"""Load the published observations shipped as ``observations.toml`` and check every record.

The file is data, so its checks are strict: an unknown key, a missing source or confidence,
or a source key that is not defined fails loudly with the record's id.
"""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import lru_cache
from importlib import resources
from pathlib import Path

from wormlab.errors import InputError

CONFIDENCES = ("firm", "soft")
RELATIONS = ("more_than", "less_than", "about", "exactly")
_REQUIRED = ("id", "event", "quantity", "unit", "relation", "confidence", "source")
_OPTIONAL = ("value", "at", "where", "note")


@dataclass(frozen=True)
class Observation:
    """One published number (or time), with where it comes from and how sure we are."""

    id: str
    event: str
    quantity: str
    unit: str
    relation: str
    confidence: str
    source: str  # the key in [sources]
    citation: str  # the full reference for that key
    source_short: str  # e.g. "Moore, Shannon, Brown, IMW 2002", for tables
    value: float | None = None
    at: datetime | None = None  # UTC
    where: str | None = None
    note: str | None = None

    @property
    def firm(self) -> bool:
        return self.confidence == "firm"

    def describe(self) -> str:
        """A short human line such as 'more than 359,000 hosts'."""
        words = {"more_than": "more than", "less_than": "less than", "about": "about",
                 "exactly": ""}[self.relation]
        if self.value is None:
            return f"{words} {self.at:%Y-%m-%d %H:%M} UTC".strip()
        number = f"{self.value:,.0f}" if float(self.value).is_integer() else f"{self.value:g}"
        return " ".join(p for p in (words, number, self.unit) if p)


def _default_path() -> Path:
    return Path(str(resources.files("wormlab.history").joinpath("observations.toml")))


@lru_cache(maxsize=4)
def _load(path: str) -> tuple[Observation, ...]:
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"{path}: cannot read the history dataset: {exc}") from None
    sources = data.get("sources", {})
    for key, entry in sources.items():
        if set(entry) != {"citation", "short"} or not all(str(v).strip() for v in entry.values()):
            raise InputError(f"{path}: source {key!r} must have exactly 'citation' and 'short'")
    records = []
    seen: set[str] = set()
    for raw in data.get("observation", []):
        records.append(_record(path, raw, sources, seen))
    if not records:
        raise InputError(f"{path}: no [[observation]] records")
    return tuple(records)


def _record(path: str, raw: dict, sources: dict, seen: set[str]) -> Observation:
    rid = raw.get("id", "<no id>")
    where = f"{path}: observation {rid!r}"
    unknown = sorted(set(raw) - set(_REQUIRED) - set(_OPTIONAL))
    if unknown:
        raise InputError(f"{where}: unknown key {unknown[0]!r} (allowed: {', '.join(_REQUIRED + _OPTIONAL)})")
    missing = [k for k in _REQUIRED if k not in raw]
    if missing:
        raise InputError(f"{where}: missing key {missing[0]!r}")
    if rid in seen:
        raise InputError(f"{where}: duplicate id")
    seen.add(rid)
    if raw["confidence"] not in CONFIDENCES:
        raise InputError(f"{where}: confidence must be one of {', '.join(CONFIDENCES)}")
    if raw["relation"] not in RELATIONS:
        raise InputError(f"{where}: relation must be one of {', '.join(RELATIONS)}")
    if raw["source"] not in sources:
        raise InputError(f"{where}: source {raw['source']!r} is not defined under [sources]")
    value = raw.get("value")
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise InputError(f"{where}: value must be a number")
    at = raw.get("at")
    if at is not None:
        try:
            at = datetime.fromisoformat(str(at).replace("Z", "+00:00")).astimezone(UTC)
        except ValueError:
            raise InputError(f"{where}: at must be an ISO-8601 UTC time") from None
    if value is None and at is None:
        raise InputError(f"{where}: needs a value, a time ('at'), or both")
    return Observation(
        id=rid, event=raw["event"], quantity=raw["quantity"], unit=raw["unit"],
        relation=raw["relation"], confidence=raw["confidence"], source=raw["source"],
        citation=sources[raw["source"]]["citation"], source_short=sources[raw["source"]]["short"],
        value=float(value) if value is not None else None, at=at,
        where=raw.get("where"), note=raw.get("note"),
    )


def load_observations(path: str | Path | None = None) -> list[Observation]:
    """Every observation in the shipped dataset (or in ``path``), checked."""
    return list(_load(str(path or _default_path())))


def observation(obs_id: str) -> Observation:
    """The observation with this id; the error lists the known ids."""
    for obs in load_observations():
        if obs.id == obs_id:
            return obs
    known = ", ".join(o.id for o in load_observations())
    raise InputError(f"no observation {obs_id!r} (known: {known})")


def for_event(event: str) -> list[Observation]:
    """The observations of one event, e.g. ``codered-2001-07-19``."""
    found = [o for o in load_observations() if o.event == event]
    if not found:
        events = ", ".join(sorted({o.event for o in load_observations()}))
        raise InputError(f"no observations for event {event!r} (known: {events})")
    return found


def observations_frame():
    """The dataset as a pandas DataFrame, one row per observation."""
    import pandas as pd

    return pd.DataFrame([asdict(o) for o in load_observations()])
