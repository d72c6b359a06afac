"""Egress filtering: an organisation blocks outbound connections its hosts initiate to the
outside, so its infected hosts cannot infect other organisations; inside, probes get through."""

from __future__ import annotations

from typing import Literal

from wormlab.defenses.base import register
from wormlab.defenses.org_filters import OrgDefense


@register
class EgressFilter(OrgDefense):
    kind: Literal["egress_filter"]

    def install(self, plan, slot: int) -> None:
        plan.org_egress[self.chosen(plan, 2000 + slot)] = slot
