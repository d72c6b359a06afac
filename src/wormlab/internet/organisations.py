"""Organisations own contiguous address blocks and belong to an AS; hosts inherit both by address.

Types: ``isp_customer`` (home and small-business customers of an access ISP: one pool per
tier-1 or transit AS, sized by the AS's degree), ``enterprise``, ``university``, ``government``
and ``bank`` (each in a stub AS, several per stub at most; sizes Pareto, so heavy-tailed).
Hosts are sorted by address, so cutting the sorted hosts into runs, one run per organisation in
a shuffled order, gives every organisation one contiguous block of the address space.
Everything here depends only on the network spec and the number of hosts, never on the run seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from wormlab.internet import topology as topo_mod

ORG_TYPES = ("isp_customer", "enterprise", "university", "government", "bank")
DEFAULT_HOST_SHARE = {"isp_customer": 0.60, "enterprise": 0.25, "university": 0.08, "government": 0.05, "bank": 0.02}
DEFAULT_ORG_COUNT = {"enterprise": 400, "university": 60, "government": 40, "bank": 30}
# Share of an organisation's vulnerable hosts meant to serve the web (the rest run IIS by default
# or by accident; ingress filtering protects them). Assumption, not a measured figure.
DEFAULT_WEB_SERVER_SHARE = {"isp_customer": 0.1, "enterprise": 0.3, "university": 0.3, "government": 0.5, "bank": 0.5}


@dataclass
class Network:
    """Topology plus organisations: name, type code, AS index and host-share weight of each."""

    topology: topo_mod.Topology
    org_name: list[str]
    org_type: np.ndarray  # int8 index into ORG_TYPES
    org_as: np.ndarray  # int32 AS index
    org_weight: np.ndarray  # float64, sums to 1
    web_server_share: np.ndarray  # float64 per type
    seed: int

    def org_index(self, name: str) -> int:
        try:
            return self.org_name.index(name)
        except ValueError:
            raise KeyError(name) from None

    def assign(self, n_hosts: int) -> HostPlacement:
        """Cut ``n_hosts`` hosts (sorted by address) into one run per organisation.

        Kept per host count (the last few): the placement depends on nothing else, and an
        ensemble or a comparison asks for the same one every run. Do not write to its arrays."""
        cache = self.__dict__.setdefault("_placements", {})
        if n_hosts not in cache:
            if len(cache) >= 4:
                cache.pop(next(iter(cache)))
            cache[n_hosts] = _assign(self, n_hosts)  # not flagged read-only: a second kernel type
        return cache[n_hosts]


@dataclass
class HostPlacement:
    host_org: np.ndarray  # int32 per host
    host_as: np.ndarray  # int32 per host
    host_type: np.ndarray  # int8 per host
    web_server: np.ndarray  # uint8 per host
    org_first_host: np.ndarray  # int64 per organisation (in address order of the run)


def _assign(net: Network, n: int) -> HostPlacement:
    rng = np.random.default_rng(net.seed + 1)
    counts = largest_remainder(net.org_weight, n)
    order = rng.permutation(len(net.org_name))  # address-block order of the organisations
    host_org = np.repeat(order, counts[order]).astype(np.int32)
    first = np.zeros(len(net.org_name), dtype=np.int64)
    first[order] = np.concatenate(([0], np.cumsum(counts[order])[:-1]))
    host_type = net.org_type[host_org]
    web = (rng.random(n) < net.web_server_share[host_type]).astype(np.uint8)
    return HostPlacement(host_org=host_org, host_as=net.org_as[host_org].astype(np.int32),
                         host_type=host_type, web_server=web, org_first_host=first)


def largest_remainder(weight: np.ndarray, total: int) -> np.ndarray:
    """Integer counts summing to ``total`` in proportion to ``weight``."""
    raw = weight / weight.sum() * total
    counts = np.floor(raw).astype(np.int64)
    short = total - int(counts.sum())
    if short > 0:
        counts[np.argsort(-(raw - counts), kind="stable")[:short]] += 1
    return counts


def build_network(topology: topo_mod.Topology, seed: int = 2001, host_share: dict[str, float] | None = None,
                  org_count: dict[str, int] | None = None, named: tuple[tuple[str, str, float], ...] = ()) -> Network:
    """Organisations on ``topology``; ``named`` adds (name, type, share of all hosts) entries."""
    share = {**DEFAULT_HOST_SHARE, **(host_share or {})}
    count = {**DEFAULT_ORG_COUNT, **(org_count or {})}
    rng = np.random.default_rng(seed)
    deg = topology.degree().astype(float)
    providers = np.flatnonzero(topology.tier != topo_mod.STUB)
    stubs = np.flatnonzero(topology.tier == topo_mod.STUB)
    if stubs.size == 0:
        stubs = providers
    names: list[str] = []
    types: list[int] = []
    ases: list[int] = []
    weights: list[float] = []
    for asx in providers:
        names.append(f"isp-customers-AS{int(topology.asn[asx])}")
        types.append(ORG_TYPES.index("isp_customer"))
        ases.append(int(asx))
        weights.append(share["isp_customer"] * deg[asx] / deg[providers].sum())
    for t in ORG_TYPES[1:]:
        sizes = rng.pareto(1.2, count[t]) + 1.0
        sizes /= sizes.sum()
        homes = rng.choice(stubs, size=count[t])
        for i in range(count[t]):
            names.append(f"{t}-{i + 1}")
            types.append(ORG_TYPES.index(t))
            ases.append(int(homes[i]))
            weights.append(share[t] * sizes[i])
    named_share = sum(s for _, _, s in named)
    w = np.array(weights) * (1.0 - named_share) / sum(weights)
    for i, (name, typ, s) in enumerate(named):
        names.append(name)
        types.append(ORG_TYPES.index(typ))
        ases.append(int(stubs[i % stubs.size]))
        w = np.append(w, s)
    return Network(topology=topology, org_name=names, org_type=np.array(types, dtype=np.int8),
                   org_as=np.array(ases, dtype=np.int32), org_weight=w / w.sum(),
                   web_server_share=np.array([DEFAULT_WEB_SERVER_SHARE[t] for t in ORG_TYPES]), seed=seed)


@lru_cache(maxsize=8)
def cached_network(spec_json: str) -> Network:
    """The network of a ``NetworkSpec`` (given as its JSON, so it can key a cache)."""
    import json

    spec = json.loads(spec_json)
    if spec.get("as_relationships"):
        topology = topo_mod.load_as_relationships(spec["as_relationships"])
    else:
        topology = topo_mod.synthetic(spec["tier1_ases"], spec["transit_ases"], spec["stub_ases"], spec["seed"])
    named = tuple((o["name"], o["type"], o["host_share"]) for o in spec.get("organisations", []))
    return build_network(topology, spec["seed"], spec.get("host_share") or None, None, named)
