"""What a dashboard user may tune, with bounds the server enforces.

Each :class:`Param` names one knob, its unit, its bounds, how to read its default from a
scenario, and how to write it back as scenario overrides. The page builds its form from this
list (``GET /api/config``), so a new defence (filtering, renumbering) is one more entry here.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from wormlab.errors import InputError


@dataclass(frozen=True)
class Limits:
    """Server-side ceilings: no request may exceed them, whatever the page allows."""

    max_vulnerable_hosts: int = 1_000_000
    max_window_h: float = 96.0
    max_queued: int = 4  # runs waiting for a worker; one more is refused with 429
    max_kept: int = 8  # finished runs kept in memory for the page to read
    workers: int = 1


@dataclass(frozen=True)
class Param:
    key: str
    label: str
    unit: str
    low: float
    high: float | Callable[[Limits], float]
    step: float
    default: Callable[[Any], float]  # Scenario -> value
    apply: Callable[[Any, float, dict[str, Any]], None]  # (Scenario, value, overrides) -> None
    integer: bool = False
    help: str = ""

    def upper(self, limits: Limits) -> float:
        return self.high(limits) if callable(self.high) else self.high

    def describe(self, limits: Limits, scenario: Any) -> dict[str, Any]:
        return {"key": self.key, "label": self.label, "unit": self.unit, "min": self.low,
                "max": self.upper(limits), "step": self.step, "integer": self.integer,
                "help": self.help, "default": self.clip(self.default(scenario), limits)}

    def clip(self, value: float, limits: Limits) -> float:
        value = min(max(value, self.low), self.upper(limits))
        return int(round(value)) if self.integer else round(float(value), 6)


def _hours(delta: dt.timedelta) -> float:
    return delta.total_seconds() / 3600.0


def _alert(sc: Any) -> tuple[float, float]:
    """(hours after start, rate per hour) of the last patch-schedule step (the 'alert')."""
    steps = sc.hosts.patch_schedule
    if not steps:
        return 0.0, 0.0
    return max(0.0, _hours(steps[-1].start - sc.time.start)), steps[-1].rate_per_h


def _set_patching(sc: Any, overrides: dict[str, Any], rate: float | None = None,
                  from_h: float | None = None) -> None:
    """Keep the scenario's first (baseline) step; replace the alert step's time and rate."""
    steps = sc.hosts.patch_schedule
    cur_from, cur_rate = _alert(sc)
    sched = overrides.get("hosts.patch_schedule")
    if sched is not None:  # the other patch knob already rewrote it
        cur_from = _hours(sched[-1]["from"] - sc.time.start)
        cur_rate = sched[-1]["rate_per_h"]
    from_h = cur_from if from_h is None else from_h
    rate = cur_rate if rate is None else rate
    alert_at = sc.time.start + dt.timedelta(hours=from_h)
    baseline = [{"from": s.start, "rate_per_h": s.rate_per_h} for s in steps[:1]
                if len(steps) > 1 and s.start < alert_at]
    overrides["hosts.patch_schedule"] = baseline + [{"from": alert_at, "rate_per_h": rate}]


def _mean_probe_rate(sc: Any) -> float:
    """The scenario's mean rate; for bandwidth-limited worms, uplink over probe size, averaged."""
    bw = sc.worm.bandwidth
    if bw is None:
        return sc.worm.probe_rate_per_s
    return sum(c.share * c.bytes_per_s for c in bw.classes) / bw.probe_bytes


def _set_probe_rate(sc: Any, value: float, overrides: dict[str, Any]) -> None:
    """A chosen rate replaces any bandwidth model (the rate is then the same for every host)."""
    overrides["worm.probe_rate_per_s"] = float(value)
    if sc.worm.bandwidth is not None:
        overrides["worm.bandwidth"] = None


def _set_window(sc: Any, hours: float, overrides: dict[str, Any]) -> None:
    minutes = max(1, int(round(hours * 60)))
    overrides["time.end"] = sc.time.start + dt.timedelta(minutes=minutes)


PARAMS: tuple[Param, ...] = (
    Param("vulnerable_hosts", "vulnerable hosts", "hosts", 100, lambda lim: lim.max_vulnerable_hosts,
          1000, lambda sc: sc.internet.vulnerable_hosts,
          lambda sc, v, o: o.__setitem__("internet.vulnerable_hosts", int(v)), integer=True),
    Param("window_h", "simulated window", "hours", 0.5, lambda lim: lim.max_window_h, 0.5,
          lambda sc: _hours(sc.time.end - sc.time.start), _set_window),
    Param("probe_rate_per_s", "worm probe rate", "probes/s per host", 0.1, 100.0, 0.1,
          _mean_probe_rate, _set_probe_rate),
    Param("patch_rate_per_h", "patch rate after the alert", "per host per hour", 0.0, 2.0, 0.005,
          lambda sc: _alert(sc)[1], lambda sc, v, o: _set_patching(sc, o, rate=float(v)),
          help="chance per hour that a vulnerable host is patched, from the alert on"),
    Param("patch_from_h", "alert (patching speeds up)", "hours after start", 0.0,
          lambda lim: lim.max_window_h, 0.5, lambda sc: _alert(sc)[0],
          lambda sc, v, o: _set_patching(sc, o, from_h=float(v))),
    Param("mean_uptime_h", "mean time between reboots", "hours (0 = never)", 0.0, 10_000.0, 1.0,
          lambda sc: sc.hosts.mean_uptime_h,
          lambda sc, v, o: o.__setitem__("hosts.mean_uptime_h", float(v)),
          help="a reboot clears the memory-resident worm"),
    Param("seed", "seed", "", 0, 2**31 - 1, 1, lambda sc: 0, lambda sc, v, o: None, integer=True),
)
BY_KEY = {p.key: p for p in PARAMS}


def check_request(body: Any, limits: Limits, scenario_names: list[str]) -> tuple[str, dict[str, float]]:
    """(scenario name, {key: value}) from a request body, or InputError with one clear line."""
    if not isinstance(body, dict):
        raise InputError("the request body must be a JSON object")
    unknown = sorted(set(body) - set(BY_KEY) - {"scenario"})
    if unknown:
        raise InputError(f"unknown parameter {unknown[0]!r}; known: scenario, {', '.join(BY_KEY)}")
    name = body.get("scenario", scenario_names[0] if scenario_names else "")
    if name not in scenario_names:
        raise InputError(f"scenario: unknown {name!r}; choose one of {', '.join(scenario_names)}")
    values: dict[str, float] = {}
    for key, raw in body.items():
        if key == "scenario":
            continue
        p = BY_KEY[key]
        if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
            raise InputError(f"{p.label}: expected a number, got {raw!r}")
        try:
            value = float(raw)
        except ValueError:
            raise InputError(f"{p.label}: expected a number, got {raw!r}") from None
        if not math.isfinite(value):
            raise InputError(f"{p.label}: expected a finite number, got {raw!r}")
        hi = p.upper(limits)
        if value < p.low or value > hi:
            raise InputError(f"{p.label}: {_num(value)} is out of range; allowed {_num(p.low)} to "
                             f"{_num(hi)} {p.unit}".rstrip())
        if p.integer and value != int(value):
            raise InputError(f"{p.label}: must be a whole number, got {raw!r}")
        values[key] = int(value) if p.integer else value
    return name, values


def _num(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:g}"


@lru_cache(maxsize=16)
def _base_scenario(name: str) -> Any:
    """A built-in scenario, parsed once (Scenario objects are frozen, so sharing is safe)."""
    from wormlab.scenario import load_scenario

    return load_scenario(name)


def build_scenario(name: str, values: dict[str, float], limits: Limits) -> tuple[Any, int]:
    """The scenario to run (defaults clipped to the limits, then the request's values) and its seed."""
    base = _base_scenario(name)
    merged = {p.key: p.clip(p.default(base), limits) for p in PARAMS}
    merged.update(values)
    if merged["patch_from_h"] > merged["window_h"]:
        raise InputError(f"alert (patching speeds up): {_num(merged['patch_from_h'])} h is after the end "
                         f"of the window ({_num(merged['window_h'])} h)")
    overrides: dict[str, Any] = {}
    for p in PARAMS:
        p.apply(base, merged[p.key], overrides)
    return base.with_overrides(overrides), int(merged["seed"])
