"""How fast each infected host scans: a fixed rate, a distribution, classes of hosts, or the
host's uplink bandwidth divided by the size of a probe (Slammer)."""

from __future__ import annotations

import math

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RateClass(_Strict):
    """A share of hosts whose rate is ``multiplier`` times the base rate (e.g. Code Red II's
    600 threads on Chinese-language systems against 300 elsewhere)."""

    share: float = Field(gt=0, le=1)
    multiplier: float = Field(gt=0)


class BandwidthClass(_Strict):
    share: float = Field(gt=0, le=1)
    bytes_per_s: float = Field(gt=0, description="uplink bandwidth of this share of hosts")


class Bandwidth(_Strict):
    """Bandwidth-limited scanning: each host sends probes as fast as its uplink allows."""

    probe_bytes: int = Field(gt=0, description="bytes on the wire per probe (Slammer: 404)")
    classes: list[BandwidthClass] = Field(min_length=1)

    @model_validator(mode="after")
    def _shares(self) -> Bandwidth:
        total = sum(c.share for c in self.classes)
        if abs(total - 1.0) > 1e-9:
            raise ValueError(f"bandwidth class shares must sum to 1, got {total:g}")
        return self


def check_rate_classes(classes: list[RateClass]) -> None:
    if classes:
        total = sum(c.share for c in classes)
        if abs(total - 1.0) > 1e-9:
            raise ValueError(f"rate_classes shares must sum to 1, got {total:g}")


def draw_probe_rates(worm, n: int, rng: np.random.Generator) -> np.ndarray:
    """Per-host probe rates (probes/s) for ``n`` hosts of scenario section ``worm``."""
    if worm.bandwidth is not None:
        bw = worm.bandwidth
        which = rng.choice(len(bw.classes), size=n, p=[c.share for c in bw.classes])
        per_class = np.array([c.bytes_per_s / bw.probe_bytes for c in bw.classes])
        return per_class[which]
    mean = worm.probe_rate_per_s
    dist = worm.probe_rate_distribution
    if dist == "fixed":
        rates = np.full(n, mean)
    elif dist == "exponential":
        rates = rng.exponential(mean, n)
    elif dist == "lognormal":
        sigma2 = math.log1p(worm.probe_rate_cv**2)
        rates = rng.lognormal(math.log(mean) - sigma2 / 2, math.sqrt(sigma2), n)
    else:
        shape = 1.0 / worm.probe_rate_cv**2
        rates = rng.gamma(shape, mean / shape, n)
    if worm.rate_classes:
        which = rng.choice(len(worm.rate_classes), size=n, p=[c.share for c in worm.rate_classes])
        rates = rates * np.array([c.multiplier for c in worm.rate_classes])[which]
    return rates


def rates_are_uniform(worm) -> bool:
    """True when every host has the same rate (the engine then skips its Fenwick tree)."""
    return (worm.bandwidth is None and worm.probe_rate_distribution == "fixed"
            and len({c.multiplier for c in worm.rate_classes}) <= 1
            and all(c.multiplier == 1.0 for c in worm.rate_classes)
            and worm.initial_wake_hours is None)
