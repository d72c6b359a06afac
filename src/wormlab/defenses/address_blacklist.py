"""Address blacklisting: deploying ASes drop probes from an infected host's address once it is on
the blacklist, ``reaction_s`` after that host was infected (detection and distribution); the
blacklist itself operates from the trigger on."""

from __future__ import annotations

from typing import Literal

from wormlab.defenses.base import register
from wormlab.defenses.deployment import PathDefense


@register
class AddressBlacklist(PathDefense):
    kind: Literal["address_blacklist"]

    def install(self, plan, slot: int) -> None:
        from wormlab.engine.kernel_defense import BLACKLIST

        # The reaction delays each address, not the start of the blacklist.
        plan.trig_start[slot] -= plan.trig_delay[slot] if plan.trig_cond[slot] < 0 else 0
        plan.trig_delay[slot] = 0
        reaction = plan.steps(self.reaction_s)
        plan.path.append((slot, BLACKLIST, reaction, plan.network.topology.crosses(self.deploy_mask(plan))))
