"""Competing worms in one run (Code Red II against Code Red v2, August 2001).

Several worms share one population: a host infected by one cannot be infected by another while
it stays infected; once cured (a reboot, for a worm that a reboot cures) it is susceptible to
all of them again. The main ``[worm]`` is worm 0; ``[[worm.competitors]]`` adds the others, each
with its own name, scan (uniform or local preference), probe rate, rate classes, persistence and
first hosts. The calendar, flood and link saturation are the main worm's and apply to all.
Engine: ``engine/strains.py``; docs/worms.md, "Competing worms".
"""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from wormlab.worms.local_preference import LocalPreferenceScan
from wormlab.worms.rates import RateClass, check_rate_classes
from wormlab.worms.uniform import UniformScan

COMPETING_SCANS = ("uniform", "local-preference")  # the strategies sampled by the strain engine


def column_suffix(name: str) -> str:
    """``codered-ii`` -> ``codered_ii``: worm names as they appear in column names."""
    return re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_").lower()


class CompetitorWorm(BaseModel):
    """One more worm in the same run: how it scans, how fast, whether a reboot cures it."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", description="distinct from the other worms")
    scan: Annotated[UniformScan | LocalPreferenceScan, Field(discriminator="kind")] = UniformScan()
    probe_rate_per_s: float = Field(gt=0, description="mean probes per second of one infected host")
    rate_classes: list[RateClass] = Field(
        default_factory=list, description="shares of hosts scanning at a multiple of the rate")
    reboot_cures: bool = Field(True, description="False when the worm survives a reboot")
    initial_infected: int = Field(1, ge=1)

    # read by draw_probe_rates: a competitor's base rate is fixed
    bandwidth: ClassVar[None] = None
    probe_rate_distribution: ClassVar[str] = "fixed"

    @field_validator("scan", mode="before")
    @classmethod
    def _scan_by_name(cls, value: Any) -> Any:
        return {"kind": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _check(self) -> CompetitorWorm:
        check_rate_classes(self.rate_classes)
        return self


def check_competitors(worm) -> None:
    """Distinct names (also as column names) and strategies the strain engine samples."""
    if not worm.competitors:
        return
    if worm.scan.kind not in COMPETING_SCANS:
        raise ValueError(f"scan: competing worms need a uniform or local-preference main worm, "
                         f"got {worm.scan.kind!r}")
    names = [worm.name] + [c.name for c in worm.competitors]
    suffixes = [column_suffix(n) for n in names]
    if len(set(suffixes)) != len(suffixes):
        raise ValueError(f"competitors: worm names must differ (also with - and . read as _): {names}")
