"""Renumbering the flood target: at the trigger the attacked server moves to ``new_address``;
``null_route_delay_s`` later the backbone (tier-1 ASes, or tier-1 and transit) drops packets to
the old address. The worm keeps flooding the address it was built with, so the new address gets
none of it; the old one gets what the infected hosts send until the null route, and afterwards
only what comes from hosts whose AS route to the target avoids every null-routing AS.

This acts on the results only: ``flood_columns`` splits ``flood_packets_to_target`` into
``flood_packets_at_old_address`` and ``flood_packets_at_new_address``. After the null route the
old address gets the rows' flood times the share of vulnerable hosts (not of infected ones)
whose route escapes the null route: an approximation, exact when infection is independent of AS.
"""

from __future__ import annotations

import ipaddress
from typing import ClassVar, Literal

import numpy as np
from pydantic import Field, field_validator, model_validator

from wormlab.defenses.base import DefenseBase, register


@register
class Renumber(DefenseBase):
    kind: Literal["renumber"]
    new_address: str = Field(description="the server's new IPv4 address")
    null_route: Literal["tier1", "backbone", "none"] = "backbone"
    null_route_delay_s: float = Field(0.0, ge=0, description="from the move to the null route")

    in_kernel: ClassVar[bool] = False

    @model_validator(mode="after")
    def _timed(self):
        if self.when_infected_above is not None:
            raise ValueError("renumber needs an absolute time: give at, not when_infected_above")
        return self

    @field_validator("new_address")
    @classmethod
    def _ip(cls, value: str) -> str:
        ipaddress.IPv4Address(value)
        return value


def escape_share(sc, spec: Renumber, n_hosts: int) -> float:
    """Share of hosts whose route to the target's AS crosses no null-routing AS."""
    if spec.null_route == "none":
        return 1.0
    from wormlab.defenses.plan import network_of
    from wormlab.internet.address_space import ip_to_int
    from wormlab.internet.topology import STUB, TIER1

    net = network_of(sc)
    topo = net.topology
    place = net.assign(max(n_hosts, 1))
    # The target's organisation: the block whose first host's rank matches the target's share of
    # the address space (hosts are spread over the space, so ranks follow addresses).
    frac = ip_to_int(sc.worm.flood_target) / 2**32
    first = place.org_first_host / max(n_hosts, 1)
    org = int(np.flatnonzero(first <= frac)[np.argmax(first[first <= frac])]) if (first <= frac).any() else 0
    target_as = int(net.org_as[org])
    deploy = topo.tier == TIER1 if spec.null_route == "tier1" else topo.tier != STUB
    deploy = deploy.copy()
    deploy[target_as] = False
    dropped = topo.crosses(deploy)[:, target_as]
    return float(1.0 - dropped[place.host_as].mean())


def flood_columns(sc, ts, n_hosts: int) -> None:
    """Add the old- and new-address flood columns to the time series ``ts`` in place."""
    specs = [d for d in sc.defenses if isinstance(d, Renumber)]
    if not specs:
        return
    spec = specs[0]
    import pandas as pd

    start = pd.Timestamp(spec.at if spec.at is not None else sc.time.start) + pd.Timedelta(seconds=spec.reaction_s)
    null_at = start + pd.Timedelta(seconds=spec.null_route_delay_s)
    sent = ts["flood_packets_to_target"].to_numpy().astype(float)
    after_null = (ts["time"] > null_at).to_numpy()
    keep = np.where(after_null, escape_share(sc, spec, n_hosts), 1.0)
    ts["flood_packets_at_old_address"] = np.rint(sent * keep).astype(np.int64)
    ts["flood_packets_at_new_address"] = np.zeros(len(ts), dtype=np.int64)
