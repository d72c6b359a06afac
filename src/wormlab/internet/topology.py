"""An AS-level topology with valley-free routing, so "does the path from AS a to AS b cross a
deploying AS" becomes one array look-up in the kernel.

Relationships follow the CAIDA AS-relationship format (one link a line, ``#`` starts a comment)::

    <provider-as>|<customer-as>|-1
    <peer-as>|<peer-as>|0

A link may carry a fourth field (the source of the inference); it is ignored. ASes with no
provider are the tier-1 core, ASes with no customer are stubs, the rest are transit providers.

Routes are the shortest valley-free paths (Gao): zero or more customer-to-provider links, at most
one peer link, then zero or more provider-to-customer links. Each source AS's breadth-first tree
over (AS, direction) states is kept, so the whole path to any destination can be walked back.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from wormlab.errors import InputError

TIER1, TRANSIT, STUB = 0, 1, 2
TIER_NAMES = ("tier-1", "transit", "stub")
UP, DOWN = 0, 1  # direction of a route state: still climbing, or past the top (peer or down)


@dataclass
class Topology:
    """ASes (by index), their relationships, tiers and the routing trees of every source AS."""

    asn: np.ndarray  # int64 AS numbers, index = AS index
    providers: list[list[int]]
    customers: list[list[int]]
    peers: list[list[int]]
    tier: np.ndarray = None  # int8 TIER1 / TRANSIT / STUB
    parent: np.ndarray = None  # int32 (A, 2A): routing tree of each source over states 2*as+dir
    best: np.ndarray = None  # int32 (A, A): state at which source a reaches b (-1 unreachable)

    def __post_init__(self) -> None:
        n = len(self.asn)
        if self.tier is None:
            tier = np.full(n, TRANSIT, dtype=np.int8)
            for a in range(n):
                if not self.providers[a]:
                    tier[a] = TIER1
                elif not self.customers[a]:
                    tier[a] = STUB
            self.tier = tier
        if self.parent is None:
            self.parent, self.best = _route_all(self)

    @property
    def n_as(self) -> int:
        return len(self.asn)

    def degree(self) -> np.ndarray:
        return np.array([len(p) + len(c) + len(q) for p, c, q in zip(self.providers, self.customers, self.peers)])

    def index_of(self, asn: int) -> int:
        hits = np.flatnonzero(self.asn == asn)
        if hits.size == 0:
            raise KeyError(asn)
        return int(hits[0])

    def path(self, a: int, b: int) -> list[int]:
        """AS indices on the route from ``a`` to ``b`` (both included); [] when unreachable."""
        s = int(self.best[a, b])
        if s < 0:
            return []
        out = []
        while s >= 0:
            out.append(s // 2)
            s = int(self.parent[a, s])
        return out[::-1]

    def crosses(self, deploy: np.ndarray) -> np.ndarray:
        """(A, A) bool: the route a -> b enters or leaves a deploying AS (a != b, b reachable)."""
        deploy = np.asarray(deploy, dtype=bool)
        key = deploy.tobytes()
        memo = self.__dict__.setdefault("_crosses_memo", {})
        if key not in memo:
            if len(memo) > 32:
                memo.clear()
            memo[key] = self._crosses(deploy)
            memo[key].flags.writeable = False
        return memo[key]

    def _crosses(self, deploy: np.ndarray) -> np.ndarray:
        n = self.n_as
        out = np.zeros((n, n), dtype=bool)
        for a in range(n):
            state = self.best[a].astype(np.int64)
            ok = state >= 0
            hit = deploy[a] | deploy
            cur = np.where(ok, state, -1)
            while True:
                live = cur >= 0
                if not live.any():
                    break
                hit[live] |= deploy[cur[live] // 2]
                cur[live] = self.parent[a, cur[live]]
            out[a] = hit & ok
            out[a, a] = False
        return out


def _route_all(topo: Topology) -> tuple[np.ndarray, np.ndarray]:
    """Breadth-first search from every AS over valley-free states."""
    n = len(topo.asn)
    parent = np.full((n, 2 * n), -1, dtype=np.int32)
    best = np.full((n, n), -1, dtype=np.int32)
    for src in range(n):
        dist = np.full(2 * n, -1, dtype=np.int32)
        start = 2 * src + UP
        dist[start] = 0
        frontier = [start]
        par = parent[src]
        while frontier:
            nxt = []
            for s in frontier:
                a, d = divmod(s, 2)
                moves = [(c, DOWN) for c in topo.customers[a]]
                if d == UP:
                    moves += [(p, UP) for p in topo.providers[a]] + [(q, DOWN) for q in topo.peers[a]]
                for b, nd in moves:
                    t = 2 * b + nd
                    if dist[t] < 0:
                        dist[t] = dist[s] + 1
                        par[t] = s
                        nxt.append(t)
            frontier = nxt
        par[start] = -1
        up, down = dist[0::2], dist[1::2]
        use_up = (up >= 0) & ((down < 0) | (up <= down))
        best[src] = np.where(use_up, 2 * np.arange(n) + UP, np.where(down >= 0, 2 * np.arange(n) + DOWN, -1))
    return parent, best


def from_links(links: list[tuple[int, int, int]]) -> Topology:
    """A topology from (a, b, rel) links: rel -1 = a provides transit to b, 0 = peers."""
    asns = sorted({a for a, _, _ in links} | {b for _, b, _ in links})
    idx = {asn: i for i, asn in enumerate(asns)}
    n = len(asns)
    prov: list[list[int]] = [[] for _ in range(n)]
    cust: list[list[int]] = [[] for _ in range(n)]
    peer: list[list[int]] = [[] for _ in range(n)]
    for a, b, rel in links:
        ia, ib = idx[a], idx[b]
        if rel == -1:
            cust[ia].append(ib)
            prov[ib].append(ia)
        else:
            peer[ia].append(ib)
            peer[ib].append(ia)
    return Topology(asn=np.array(asns, dtype=np.int64), providers=prov, customers=cust, peers=peer)


def load_as_relationships(path: str | Path) -> Topology:
    """Read a CAIDA-style ``a|b|rel`` file (see the module docstring) into a Topology."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"{path}: cannot read AS relationships: {err}") from None
    links = []
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split("|")
        try:
            a, b, rel = int(parts[0]), int(parts[1]), int(parts[2])
        except (ValueError, IndexError):
            raise InputError(f"{path}:{lineno}: expected 'AS|AS|-1' or 'AS|AS|0', got {line!r}") from None
        if rel not in (-1, 0) or a == b:
            raise InputError(f"{path}:{lineno}: relationship must be -1 or 0 between two ASes, got {line!r}")
        links.append((a, b, rel))
    if not links:
        raise InputError(f"{path}: no AS relationships found")
    return from_links(links)


def synthetic(n_tier1: int = 8, n_transit: int = 40, n_stub: int = 300, seed: int = 2001) -> Topology:
    """A small Internet: a full mesh of tier-1s, transit providers multihomed to tier-1s (some
    peering), stubs attached by preferential attachment, which gives heavy-tailed degrees."""
    rng = np.random.default_rng(seed)
    links: list[tuple[int, int, int]] = []
    asn = lambda i: 100 + i  # noqa: E731 - readable AS numbers
    for i in range(n_tier1):
        for j in range(i + 1, n_tier1):
            links.append((asn(i), asn(j), 0))
    weight = np.ones(n_tier1 + n_transit)
    for t in range(n_tier1, n_tier1 + n_transit):
        ups = rng.choice(n_tier1, size=min(n_tier1, 1 + rng.integers(0, 3)), replace=False, p=weight[:n_tier1] / weight[:n_tier1].sum())
        for u in ups:
            links.append((asn(int(u)), asn(t), -1))
            weight[u] += 1
        if t > n_tier1 and rng.random() < 0.3:
            q = int(rng.integers(n_tier1, t))
            links.append((asn(q), asn(t), 0))
    for s in range(n_tier1 + n_transit, n_tier1 + n_transit + n_stub):
        k = 1 if rng.random() < 0.7 else 2
        p = weight / weight.sum()
        for u in rng.choice(n_tier1 + n_transit, size=k, replace=False, p=p):
            links.append((asn(int(u)), asn(s), -1))
            weight[u] += 1
    return from_links(links)
