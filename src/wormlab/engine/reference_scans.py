"""Per-probe counterparts of the event-driven strategies, for ``engine/reference.py``.

Each is a plain object that sends probes one by one, address by address: a walker keeps its
count of probes sent and its start; the hit-list keeps each host's share and the permutation is a
real shuffled array of the whole (small) space with a pointer. ``infected(hosts, rng)`` is called
for every host as it is (re-)infected; ``list_probes`` (hit-list only) sends the holders' probes
before the rest of the step's probes are aimed.
"""

from __future__ import annotations

import numpy as np

from wormlab.defenses import reference_hooks as defense_hooks
from wormlab.engine import records


class WalkAim:
    """Static seed (one shuffled sequence, every walk from 0) or sequential (upward from a start)."""

    def __init__(self, sc, address: np.ndarray, rng: np.random.Generator):
        self.space = 1 << sc.internet.address_bits
        self.scan = sc.worm.scan
        self.address = address.astype(np.int64)
        self.seq = rng.permutation(self.space) if self.scan.kind == "static-seed" else None
        self.start = np.zeros(address.size, dtype=np.int64)
        self.count = np.zeros(address.size, dtype=np.int64)

    def infected(self, hosts: np.ndarray, rng: np.random.Generator) -> None:
        self.count[hosts] = 0
        if self.scan.kind != "sequential":
            return
        for h in hosts:
            if rng.random() < self.scan.local_start_share:
                back = rng.integers(0, self.scan.local_back_slash24s + 1)
                self.start[h] = max((self.address[h] >> 8) - back, 0) << 8
            else:
                self.start[h] = rng.integers(0, self.space)

    def __call__(self, sources: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if sources.size == 0:
            return sources.copy()
        hosts, n = np.unique(sources, return_counts=True)
        order = np.argsort(sources, kind="stable")
        within = np.empty(sources.size, dtype=np.int64)
        within[order] = np.arange(sources.size) - np.repeat(np.cumsum(n) - n, n)
        step = (self.start[sources] + self.count[sources] + within) % self.space
        self.count[hosts] += n
        return self.seq[step] if self.seq is not None else step


class HitlistAim:
    """The hit-list (shares halved at each infection) and a real permutation of the space."""

    def __init__(self, sc, address: np.ndarray, rng: np.random.Generator):
        n = address.size
        self.space = 1 << sc.internet.address_bits
        self.hitlist = rng.choice(n, size=sc.worm.scan.size_for(n), replace=False)
        self.perm = rng.permutation(self.space)
        self.probed = 0
        self.lo = np.zeros(n, dtype=np.int64)
        self.hi = np.zeros(n, dtype=np.int64)
        self.dealt = False

    def infected(self, hosts: np.ndarray, rng: np.random.Generator) -> None:
        if not self.dealt:  # the initially infected hosts share the list
            self.dealt = True
            size = self.hitlist.size
            for i, h in enumerate(hosts):
                self.lo[h], self.hi[h] = size * i // hosts.size, size * (i + 1) // hosts.size
            return
        self.lo[hosts] = 0
        self.hi[hosts] = 0

    def list_probes(self, k, sources, state, infection, row, dz) -> np.ndarray:
        """Send the holders' probes down their shares; returns the other hosts' probes."""
        holder = self.lo[sources] < self.hi[sources]
        for h in np.unique(sources[holder]):
            for _ in range(int((sources == h).sum())):
                if self.lo[h] >= self.hi[h]:
                    break  # share done: idle for the rest of the step
                target = self.hitlist[self.lo[h]]
                self.lo[h] += 1
                row[records.R_PROBES] += 1
                if state[target] == records.OFFLINE:
                    continue
                row[records.R_HITS] += 1
                ok = defense_hooks.thin(k, np.array([h]), np.array([target]), np.array([True]), dz, row)
                if state[target] != records.SUSCEPTIBLE or not ok[0]:
                    continue
                state[target] = records.INFECTED
                if infection[target, 0] < 0:
                    infection[target, 0], infection[target, 1] = k + 1, h
                row[records.R_NEW] += 1
                mid = (self.lo[h] + self.hi[h] + 1) // 2
                self.lo[target], self.hi[target] = mid, self.hi[h]
                self.hi[h] = mid
        rest = sources[~holder]
        return rest[: max(self.space - self.probed, 0)]

    def __call__(self, sources: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        out = self.perm[self.probed : self.probed + sources.size]
        self.probed += out.size
        return out
