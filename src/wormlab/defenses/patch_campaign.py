"""A patch campaign: from its trigger, susceptible and infected hosts are patched at a rate that
depends on their organisation's type, plus an awareness term that grows with the share of hosts
ever infected (the two-factor model's dQ/dt = mu * S * (I + R), with I + R = ever infected)."""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field, field_validator

from wormlab.defenses.base import DefenseBase, register


@register
class PatchCampaign(DefenseBase):
    kind: Literal["patch_campaign"]
    rate_per_h: dict[str, float] = Field(default_factory=dict, description="patch rate per host per hour by organisation type")
    default_rate_per_h: float = Field(0.0, ge=0, le=3600, description="rate of the types not in rate_per_h")
    awareness_rate_per_h: float = Field(0.0, ge=0, le=3600, description="extra rate when every host has been infected")

    @field_validator("rate_per_h")
    @classmethod
    def _types(cls, value: dict[str, float]) -> dict[str, float]:
        from wormlab.internet.organisations import ORG_TYPES

        for t, r in value.items():
            if t not in ORG_TYPES:
                raise ValueError(f"unknown organisation type {t!r}; types are {', '.join(ORG_TYPES)}")
            if not 0 <= r <= 3600:
                raise ValueError(f"rate for {t} must be in [0, 3600] per hour, got {r}")
        return value

    @property
    def by_type(self) -> bool:
        return bool(self.rate_per_h)

    def wants_network(self) -> bool:
        return self.by_type

    def install(self, plan, slot: int) -> None:
        from wormlab.engine.kernel_defense import P_AWARE_H, P_PATCH_H_MAX, P_PATCH_H_MIN, S_PATCH
        from wormlab.internet.organisations import ORG_TYPES

        if plan.slots[S_PATCH] >= 0:
            raise KeyError(("kind", "only one patch_campaign per scenario"))
        per_h = np.array([self.rate_per_h.get(t, self.default_rate_per_h) for t in ORG_TYPES])
        plan.patch_h_type = per_h * plan.dt_s / 3600.0
        plan.params[P_PATCH_H_MAX] = plan.patch_h_type.max()
        plan.params[P_PATCH_H_MIN] = plan.patch_h_type.min()
        plan.slots[S_PATCH] = slot
        plan.params[P_AWARE_H] = self.awareness_rate_per_h * plan.dt_s / 3600.0
