"""Hosts behind NAT with private addresses: the "hotspots" of local-preference scanning.

A share of the vulnerable hosts sits in one private network, 10.0.0.0/8, behind NAT (one large
private network, e.g. an enterprise's). From inside, every probe whose address falls in 10/8
reaches it: Code Red II's same-/8 and same-/16 probes from a host at 10.a.b.c stay in private
space and find its neighbours there, while its other probes leave through the NAT and reach the
public Internet. From outside nothing reaches it: 10/8 is not routed, so uniform scanners on the
public Internet never hit a host behind the NAT. Placement: ``internet/address_space.py``;
sampling: ``engine/scan_local.py`` (docs/worms.md, "NAT hotspots").
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

NAT_BLOCK = "10.0.0.0/8"
NAT_SLASH8 = 10


class NatSpec(BaseModel):
    """``share`` of the vulnerable hosts placed behind NAT in ``block`` (only 10.0.0.0/8)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    share: float = Field(gt=0, lt=1, description="share of the vulnerable hosts behind NAT")
    block: Literal["10.0.0.0/8"] = Field(NAT_BLOCK, description="the private network they sit in")


def nat_count(spec: NatSpec | None, vulnerable_hosts: int) -> int:
    """How many of the vulnerable hosts are behind NAT."""
    return 0 if spec is None else int(round(spec.share * vulnerable_hosts))
