"""The Scenario schema and TOML loading.

A scenario is data: when the outbreak happens, where vulnerable hosts live, how the worm scans
and keeps its calendar, and what hosts and defenders do. Every key is validated (pydantic, unknown
keys rejected) and an error names the file, the key and what is allowed, on one line.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import tomllib
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from wormlab.defenses.overrides import defense_table, is_defense_key
from wormlab.defenses.schema import DefenseSpec, NetworkSpec, check_defenses
from wormlab.errors import ScenarioError
from wormlab.internet.nat import NatSpec
from wormlab.worms.competitors import CompetitorWorm, check_competitors
from wormlab.worms.hitlist import HitlistScan
from wormlab.worms.local_preference import LocalPreferenceScan
from wormlab.worms.rates import Bandwidth, RateClass, check_rate_classes
from wormlab.worms.sequential import SequentialScan
from wormlab.worms.static_seed import StaticSeedScan
from wormlab.worms.uniform import UniformScan

UTC = dt.UTC
BYTES_PER_HOST_ESTIMATE = 120  # engine arrays + result table, measured by benchmarks/bench_engine.py


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _utc(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


class TimeWindow(_Strict):
    """The simulated window in UTC, and the step of the engine."""

    start: dt.datetime
    end: dt.datetime
    step_s: float = Field(1.0, gt=0, le=60, description="engine step; 1 s or finer for Code Red")
    record_every_s: float = Field(60.0, gt=0, description="one time-series row per this many seconds")

    _to_utc = field_validator("start", "end")(classmethod(lambda cls, v: _utc(v)))

    @model_validator(mode="after")
    def _check(self) -> TimeWindow:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        ratio = self.record_every_s / self.step_s
        if abs(ratio - round(ratio)) > 1e-9:
            raise ValueError("record_every_s must be a whole multiple of step_s")
        return self

    @property
    def duration_s(self) -> float:
        return (self.end - self.start).total_seconds()


class Internet(_Strict):
    """Where vulnerable hosts live in the address space."""

    vulnerable_hosts: int = Field(gt=0, description="hosts running the vulnerable service")
    address_bits: int = Field(32, ge=8, le=32, description="size of the address space, 2^bits")
    registry_date: str = Field(
        "2001-07",
        pattern=r"^\d{4}-\d{2}$",
        description="/8s allocated by IANA on or before this month can hold hosts (32-bit space)",
    )
    slash8_weights: dict[str, float] = Field(
        default_factory=dict, description="relative host density per /8, e.g. {\"24\" = 3.0}"
    )
    nat: NatSpec | None = Field(None, description="a share of hosts behind NAT in 10/8 (docs/worms.md)")

    @field_validator("slash8_weights")
    @classmethod
    def _weights(cls, value: dict[str, float]) -> dict[str, float]:
        for key, weight in value.items():
            if not key.isdigit() or not 0 <= int(key) <= 255:
                raise ValueError(f"/8 key {key!r} must be an integer 0..255")
            if weight < 0:
                raise ValueError(f"weight for /8 {key} must be >= 0, got {weight}")
        return value

    @model_validator(mode="after")
    def _nat_needs_ipv4(self) -> Internet:
        if self.nat is not None and self.address_bits != 32:
            raise ValueError("nat: hosts behind NAT need the whole IPv4 space (address_bits = 32)")
        return self


class CalendarPhase(_Strict):
    days: tuple[int, int] = Field(description="first and last day of the month (UTC), inclusive")
    action: Literal["spread", "flood", "sleep"]

    @field_validator("days")
    @classmethod
    def _days(cls, value: tuple[int, int]) -> tuple[int, int]:
        first, last = value
        if not (1 <= first <= last <= 31):
            raise ValueError("days must be [first, last] with 1 <= first <= last <= 31")
        return value


def _code_red_calendar() -> list[CalendarPhase]:
    return [
        CalendarPhase(days=(1, 19), action="spread"),
        CalendarPhase(days=(20, 27), action="flood"),
        CalendarPhase(days=(28, 31), action="sleep"),
    ]


class Worm(_Strict):
    """What the worm does: how fast each host scans, and its calendar."""

    name: str = "codered-v2"
    scan: Annotated[UniformScan | LocalPreferenceScan | StaticSeedScan | SequentialScan | HitlistScan,
                   Field(discriminator="kind")] = UniformScan()
    probe_rate_per_s: float | None = Field(
        None, gt=0, description="mean probes per second of one infected host (unless bandwidth is given)"
    )
    probe_rate_distribution: Literal["fixed", "exponential", "lognormal", "gamma"] = "fixed"
    probe_rate_cv: float = Field(
        0.0, ge=0, le=10, description="coefficient of variation of the per-host rate (lognormal, gamma)"
    )
    rate_classes: list[RateClass] = Field(
        default_factory=list, description="shares of hosts scanning at a multiple of the rate"
    )
    bandwidth: Bandwidth | None = Field(None, description="bandwidth-limited scanning (Slammer)")
    saturation_probes_per_s: float = Field(
        0.0, ge=0, description="aggregate scan rate at which links saturate; 0 = never"
    )
    congestion_eta: float = Field(
        0.0, ge=0, le=100, description="scanning slowed by (1 - I/N)^eta as the worm spreads (two-factor model); 0 = off"
    )
    reboot_cures: bool = Field(True, description="False when the worm survives a reboot (Code Red II)")
    competitors: list[CompetitorWorm] = Field(
        default_factory=list, description="more worms sharing the population (docs/worms.md)")
    initial_wake_hours: tuple[float, float] | None = Field(
        None, description="initially infected hosts start scanning uniformly within [low, high] hours"
    )
    initial_infected: int = Field(1, ge=1)
    calendar: list[CalendarPhase] = Field(default_factory=_code_red_calendar)
    flood_target: str = "198.137.240.91"
    flood_packets_per_s: float = Field(0.0, ge=0, description="per infected host during a flood phase")
    flood_packet_bytes: int = Field(40, ge=1, le=65535)

    @field_validator("flood_target")
    @classmethod
    def _ip(cls, value: str) -> str:
        ipaddress.IPv4Address(value)
        return value

    @field_validator("scan", mode="before")
    @classmethod
    def _scan_by_name(cls, value: Any) -> Any:
        return {"kind": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _check(self) -> Worm:
        if self.probe_rate_per_s is None and self.bandwidth is None:
            raise ValueError("give probe_rate_per_s, or a [worm.bandwidth] table for bandwidth-limited scanning")
        check_rate_classes(self.rate_classes)
        check_competitors(self)
        if self.initial_wake_hours is not None:
            low, high = self.initial_wake_hours
            if not 0 <= low <= high:
                raise ValueError("initial_wake_hours must be [low, high] with 0 <= low <= high")
        if self.probe_rate_distribution in ("lognormal", "gamma") and self.probe_rate_cv <= 0:
            raise ValueError(f"probe_rate_distribution={self.probe_rate_distribution} needs probe_rate_cv > 0")
        seen: set[int] = set()
        for phase in self.calendar:
            days = set(range(phase.days[0], phase.days[1] + 1))
            if days & seen:
                raise ValueError(f"calendar phases overlap on day(s) {sorted(days & seen)}")
            seen |= days
        return self


class PatchStep(_Strict):
    start: dt.datetime = Field(alias="from")
    rate_per_h: float = Field(ge=0, le=3600, description="chance per host per hour of being patched")

    _to_utc = field_validator("start")(classmethod(lambda cls, v: _utc(v)))


class Hosts(_Strict):
    """What hosts and their administrators do: reboot (memory-only cure), patch, go offline."""

    mean_uptime_h: float = Field(0.0, ge=0, description="mean time between reboots; 0 = never")
    patch_schedule: list[PatchStep] = Field(
        default_factory=list, description="piecewise-constant patch rate from each time on"
    )
    offline_rate_per_h: float = Field(0.0, ge=0, le=3600)

    @field_validator("patch_schedule")
    @classmethod
    def _sorted(cls, value: list[PatchStep]) -> list[PatchStep]:
        starts = [p.start for p in value]
        if starts != sorted(starts):
            raise ValueError("patch_schedule entries must be in time order")
        return value


class Scenario(_Strict):
    """One outbreak setting, loaded from TOML; see docs/scenarios.md for every key."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    description: str = ""
    sources: list[str] = Field(default_factory=list)
    time: TimeWindow
    internet: Internet
    worm: Worm
    hosts: Hosts = Field(default_factory=Hosts)
    network: NetworkSpec | None = None  # organisations and ASes (docs/defenses.md)
    defenses: list[DefenseSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> Scenario:
        if self.worm.initial_infected > self.internet.vulnerable_hosts:
            raise ValueError("worm.initial_infected exceeds internet.vulnerable_hosts")
        check_defenses(self)  # raises ScenarioError naming the key
        return self

    def with_overrides(self, overrides: list[str] | dict[str, Any]) -> Scenario:
        """A copy with dotted-key overrides applied (``worm.probe_rate_per_s=6``), re-validated."""
        raw = self.model_dump(mode="python", by_alias=True)
        apply_overrides(raw, overrides, origin=self.name)
        return scenario_from_dict(raw, origin=self.name)


# ---------------------------------------------------------------------------------------------
# loading


def builtin_names() -> list[str]:
    """Names of the scenarios shipped in ``wormlab/scenarios``."""
    folder = resources.files("wormlab") / "scenarios"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def builtin_path(name: str) -> Path:
    return Path(str(resources.files("wormlab") / "scenarios" / f"{name}.toml"))


def _format_loc(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts[-1:] = [f"{parts[-1]}[{item}]"] if parts else [f"[{item}]"]
        else:
            parts.append(str(item))
    return ".".join(parts)


def _error_line(err: ValidationError, origin: str) -> str:
    first = err.errors()[0]
    key = _format_loc(first["loc"]) or "(top level)"
    msg = first["msg"]
    if first["type"] == "extra_forbidden":
        msg = "unknown key (check the spelling; see docs/scenarios.md for the allowed keys)"
    elif first["type"] == "missing":
        msg = "required key is missing"
    msg = msg.removeprefix("Value error, ")
    more = len(err.errors()) - 1
    tail = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    return f"{origin}: {key}: {msg}{tail}"


def _check_capacity(sc: Scenario, origin: str) -> None:
    from wormlab.internet.address_space import routable_capacity

    scan = sc.worm.scan
    if scan.kind == "hitlist" and scan.size_for(sc.internet.vulnerable_hosts) > sc.internet.vulnerable_hosts:
        raise ScenarioError(f"{origin}: worm.scan.hitlist_size: {scan.hitlist_size:,} is more than the "
                            f"{sc.internet.vulnerable_hosts:,} vulnerable hosts")
    capacity = routable_capacity(sc.internet)
    if sc.internet.vulnerable_hosts > capacity:
        raise ScenarioError(
            f"{origin}: internet.vulnerable_hosts: {sc.internet.vulnerable_hosts:,} is more than the "
            f"{capacity:,} routable addresses that can hold hosts"
        )
    need = sc.internet.vulnerable_hosts * BYTES_PER_HOST_ESTIMATE
    avail = _available_memory_bytes()
    if avail is not None and need > 0.8 * avail:
        raise ScenarioError(
            f"{origin}: internet.vulnerable_hosts: {sc.internet.vulnerable_hosts:,} hosts need about "
            f"{need / 2**30:.1f} GiB, more than this machine can give ({avail / 2**30:.1f} GiB available)"
        )


def _available_memory_bytes() -> int | None:
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def scenario_from_dict(raw: dict[str, Any], origin: str = "<scenario>") -> Scenario:
    """Validate a raw mapping into a Scenario, raising ScenarioError with one line on failure."""
    try:
        sc = Scenario.model_validate(raw)
    except ValidationError as err:
        raise ScenarioError(_error_line(err, origin)) from None
    _check_capacity(sc, origin)
    return sc


def _parse_value(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def apply_overrides(raw: dict[str, Any], overrides: list[str] | dict[str, Any], origin: str) -> None:
    """Set dotted keys in ``raw`` in place; a value given as text is parsed as a TOML value."""
    items: list[tuple[str, Any]]
    if isinstance(overrides, dict):
        items = list(overrides.items())
    else:
        items = []
        for item in overrides:
            if "=" not in item:
                raise ScenarioError(f"{origin}: --set {item!r}: expected KEY=VALUE, e.g. worm.probe_rate_per_s=6")
            key, _, value = item.partition("=")
            items.append((key.strip(), _parse_value(value.strip())))
    for key, value in items:
        parts = key.split(".")
        node = raw
        if is_defense_key(key):  # defenses.WHICH.KEY: one defence's table (defenses/overrides.py)
            node, parts = defense_table(raw, key, origin)
        for part in parts[:-1]:
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            if not isinstance(child, dict):
                raise ScenarioError(f"{origin}: {key}: {part!r} is not a table, cannot set a key inside it")
            node = child
        node[parts[-1]] = value


def load_scenario(name_or_path: str | Path, overrides: list[str] | dict[str, Any] | None = None) -> Scenario:
    """Load a built-in scenario by name, or a TOML file by path, with optional dotted overrides."""
    text_path = Path(name_or_path)
    if text_path.suffix == ".toml" or text_path.exists():
        path = text_path
        if not path.is_file():
            raise ScenarioError(f"{path}: no such scenario file")
    else:
        names = builtin_names()
        if str(name_or_path) not in names:
            raise ScenarioError(
                f"unknown scenario {str(name_or_path)!r}; built-in scenarios are: {', '.join(names)} "
                "(or give a path to a .toml file)"
            )
        path = builtin_path(str(name_or_path))
    origin = str(path) if path.parent != builtin_path("x").parent else path.name
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise ScenarioError(f"{origin}: not valid TOML: {err}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ScenarioError(f"{origin}: cannot read: {err}") from None
    if overrides:
        apply_overrides(raw, overrides, origin)
    return scenario_from_dict(raw, origin=origin)
