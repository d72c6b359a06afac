"""Connection-rate throttling (Williamson 2002): on a ``fraction`` of hosts (chosen at random,
fixed by the network seed), connections to new addresses are limited to ``rate_per_s``, so once
throttled an infected host probes at most that fast."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from wormlab.defenses.base import DefenseBase, register


@register
class Throttle(DefenseBase):
    kind: Literal["throttle"]
    fraction: float = Field(ge=0, le=1, description="share of hosts running the throttle")
    rate_per_s: float = Field(1.0, gt=0, description="new connections per second allowed")

    needs_host_rates: ClassVar[bool] = True

    def install(self, plan, slot: int) -> None:
        from wormlab.engine.kernel_defense import P_THROTTLE_RATE, S_THROTTLE

        if plan.slots[S_THROTTLE] >= 0:
            raise KeyError(("kind", "only one throttle per scenario"))
        plan.slots[S_THROTTLE] = slot
        plan.params[P_THROTTLE_RATE] = self.rate_per_s
        plan.throttled = (plan.rng(3000).random(plan.n) < self.fraction).astype("uint8")
        plan.needs_host_rates = True
