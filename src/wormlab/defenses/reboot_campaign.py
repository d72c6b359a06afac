"""A reboot campaign: from its trigger, infected hosts are rebooted at an extra rate (the worm
lives in memory only, so a reboot cures; the host can be infected again unless patched)."""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field

from wormlab.defenses.base import DefenseBase, register


@register
class RebootCampaign(DefenseBase):
    kind: Literal["reboot_campaign"]
    rate_per_h: float = Field(gt=0, le=3600, description="extra reboots per infected host per hour")

    def install(self, plan, slot: int) -> None:
        from wormlab.engine.kernel_defense import P_REBOOT_P, S_REBOOT

        if plan.slots[S_REBOOT] >= 0:
            raise KeyError(("kind", "only one reboot_campaign per scenario"))
        plan.slots[S_REBOOT] = slot
        plan.params[P_REBOOT_P] = -math.expm1(-self.rate_per_h * plan.dt_s / 3600.0)
