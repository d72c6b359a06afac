"""Content filtering: deploying ASes drop every packet carrying the worm's signature, from
``reaction_s`` after the trigger (the time to write and push the signature)."""

from __future__ import annotations

from typing import Literal

from wormlab.defenses.base import register
from wormlab.defenses.deployment import PathDefense


@register
class ContentFilter(PathDefense):
    kind: Literal["content_filter"]

    def install(self, plan, slot: int) -> None:
        from wormlab.engine.kernel_defense import CONTENT

        plan.path.append((slot, CONTENT, 0, plan.network.topology.crosses(self.deploy_mask(plan))))
