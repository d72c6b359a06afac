"""The global shutdown ("every system in the world would have to be simultaneously shut down"):
at the trigger each online host complies with probability ``compliance`` and stays off for
``duration_s``; it comes back cured, patched if it was. With compliance below 1 the hosts that
stayed up keep the worm alive, and it comes back."""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from wormlab.defenses.base import DefenseBase, register


@register
class Shutdown(DefenseBase):
    kind: Literal["shutdown"]
    compliance: float = Field(ge=0, le=1, description="share of hosts that switch off")
    duration_s: float = Field(gt=0, description="how long they stay off")

    def install(self, plan, slot: int) -> None:
        from wormlab.engine.kernel_defense import P_COMPLIANCE, P_SHUT_STEPS, S_SHUTDOWN

        if plan.slots[S_SHUTDOWN] >= 0:
            raise KeyError(("kind", "only one shutdown per scenario"))
        plan.slots[S_SHUTDOWN] = slot
        plan.params[P_COMPLIANCE] = self.compliance
        plan.params[P_SHUT_STEPS] = plan.steps(self.duration_s)
        plan.shut_mark = np.zeros(plan.n, dtype=np.uint8)
