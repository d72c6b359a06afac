"""Ingress filtering: an organisation blocks inbound port 80 from outside to its hosts that are
not meant to serve the web; its web servers and every probe from inside still get through."""

from __future__ import annotations

from typing import Literal

from wormlab.defenses.base import register
from wormlab.defenses.org_filters import OrgDefense


@register
class IngressFilter(OrgDefense):
    kind: Literal["ingress_filter"]

    def install(self, plan, slot: int) -> None:
        plan.org_ingress[self.chosen(plan, 1000 + slot)] = slot
