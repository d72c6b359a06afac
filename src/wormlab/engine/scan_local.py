"""Exact sampling of local-preference scanning (Code Red II): probes into the source's own /8 and /16.

A probe of class "same /16" from host a lands uniformly in a's /16, so it hits a susceptible host
at rate share16 * rate_a * S_b / 2^16, where S_b is the number of susceptible hosts in a's block b.
Summed over infected hosts that is share16 / 2^16 * sum_b R_b * S_b, with R_b the summed rate of
the infected hosts of block b. The engine keeps, per level (/8 and /16) and per block:

* the hosts of the block (a contiguous range of host indices, since hosts are sorted by address)
  permuted into segments susceptible | infected | other, with the inverse permutation;
* R_b, and a Fenwick tree over blocks with weight R_b * S_b.

A hit then picks a block in proportion to R_b * S_b, a uniform susceptible host of the block and
a source among the block's infected hosts in proportion to rate (uniform pick, accepted with
probability rate / max rate). Every state change goes through ``on_move`` (called by
``kernel_hosts.move_at`` when ``local.active``), so the work stays proportional to the number of
state changes, as for uniform scanning.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit

from wormlab.engine.fenwick import fen_add, fen_find, fen_total
from wormlab.engine.records import INFECTED

LocalIndex = namedtuple(
    "LocalIndex",
    ["active", "pos", "blk", "lp", "li", "lo", "e1", "e2", "rsum", "weight", "fen", "nblk",
     "share", "region", "rmax"],
)

LEVELS = (8, 16)  # prefix lengths of the two local classes


def no_local() -> LocalIndex:
    """The index of a run without local-preference scanning: every hook is skipped."""
    z_i = np.zeros((2, 1), dtype=np.int64)
    z_32 = np.zeros((2, 1), dtype=np.int32)
    z_f = np.zeros((2, 1))
    return LocalIndex(False, np.zeros(1, dtype=np.int32), z_32, z_32, z_32, z_i, z_i, z_i, z_f, z_f,
                      z_f, np.zeros(2, dtype=np.int64), np.zeros(3), np.zeros(3), 1.0)


def build_local_index(address: np.ndarray, rate: np.ndarray, bits: int, shares: tuple[float, float, float],
                      anywhere_region: float) -> LocalIndex:
    """Per-level block structures for hosts at sorted ``address`` (all susceptible at the start)."""
    n = address.size
    shifts = [min(32 - level, bits) for level in LEVELS]
    nblk = np.array([1 << (bits - s) if bits > s else 1 for s in shifts], dtype=np.int64)
    width = int(nblk.max())
    blk = np.stack([(address.astype(np.int64) >> s) for s in shifts]).astype(np.int32)
    lo = np.zeros((2, width + 1), dtype=np.int64)
    for level in range(2):
        lo[level, : nblk[level] + 1] = np.searchsorted(blk[level], np.arange(nblk[level] + 1))
        lo[level, nblk[level] + 1 :] = n
    ends = np.stack([lo[level, 1:] for level in range(2)])
    ident = np.tile(np.arange(n, dtype=np.int32), (2, 1))  # int32 halves the cache footprint
    region = np.array([float(1 << shifts[0]), float(1 << shifts[1]), anywhere_region])
    return LocalIndex(
        True, np.arange(n, dtype=np.int32), blk, ident.copy(), ident.copy(), lo,
        ends.copy(), ends.copy(), np.zeros((2, width)), np.zeros((2, width)),
        np.zeros((2, width + 1)), nblk, np.asarray(shares, dtype=np.float64), region,
        float(rate.max()) if n else 1.0,
    )


@njit(cache=True)
def _seg(state_code):
    return state_code if state_code <= INFECTED else 2


@njit(cache=True, inline="always")
def on_move(h, old_state, new_state, local, rate):
    """Keep the per-block segments, R_b and block weights in step with a host's state change."""
    a = _seg(old_state)
    z = _seg(new_state)
    if a == z:
        return
    for lv in range(2):
        b = local.blk[lv, h]
        lp = local.lp[lv]
        li = local.li[lv]
        if a == 1:
            local.rsum[lv, b] -= rate[h]
        if z == 1:
            local.rsum[lv, b] += rate[h]
        # move across the local segment boundaries (e1: end of susceptible, e2: end of infected)
        s = a
        j = li[h]
        while s < z:
            bound = local.e1 if s == 0 else local.e2
            last = bound[lv, b] - 1
            other = lp[last]
            lp[j] = other
            li[other] = j
            lp[last] = h
            li[h] = last
            j = last
            bound[lv, b] -= 1
            s += 1
        while s > z:
            bound = local.e1 if s == 1 else local.e2
            first = bound[lv, b]
            other = lp[first]
            lp[j] = other
            li[other] = j
            lp[first] = h
            li[h] = first
            j = first
            bound[lv, b] += 1
            s -= 1
        s_count = local.e1[lv, b] - local.lo[lv, b]
        w = local.rsum[lv, b] * s_count
        if w < 1e-9:
            w = 0.0
        fen_add(local.fen[lv, : local.nblk[lv] + 1], b, w - local.weight[lv, b])
        local.weight[lv, b] = w


@njit(cache=True)
def on_rate_change(h, delta, local):
    """An infected host's rate changed by ``delta`` (a sleeping thread woke up)."""
    for lv in range(2):
        b = local.blk[lv, h]
        local.rsum[lv, b] += delta
        w = local.rsum[lv, b] * (local.e1[lv, b] - local.lo[lv, b])
        fen_add(local.fen[lv, : local.nblk[lv] + 1], b, w - local.weight[lv, b])
        local.weight[lv, b] = w


@njit(cache=True)
def _pick_in_block_source(rng, local, lv, b, rate):
    """An infected host of block b, in proportion to its rate (uniform pick, then rate/max)."""
    lo = local.e1[lv, b]
    n_inf = local.e2[lv, b] - lo
    for _ in range(1000):
        h = local.lp[lv, lo + rng.integers(0, n_inf)]
        if rate[h] >= local.rmax or rng.random() * local.rmax < rate[h]:
            return h
    return local.lp[lv, lo]


@njit(cache=True)
def _grow(buf, need):
    out = np.empty(max(2 * need, 1024), dtype=buf.dtype)
    out[: buf.shape[0]] = buf
    return out


@njit(cache=True)
def sample_local_hits(rng, dt_s, local, rate, jbuf, sbuf, m):
    """Append this step's hits on susceptible hosts from the /8 and /16 classes to (jbuf, sbuf).

    ``jbuf`` gets target hosts, ``sbuf`` their sources; ``m`` is the number already there.
    Nothing is modified, so every hit sees the state at the start of the step. Returns the new
    count and the buffers (grown when needed).
    """
    for lv in range(2):
        share = local.share[lv]
        if share <= 0.0:
            continue
        tree = local.fen[lv, : local.nblk[lv] + 1]  # a prefix of a Fenwick array is a tree too
        total = fen_total(tree)
        if total <= 0.0:
            continue
        hits = rng.poisson(share * dt_s * total / local.region[lv])
        if m + hits > jbuf.shape[0]:
            jbuf = _grow(jbuf, m + hits)
            sbuf = _grow(sbuf, m + hits)
        for _ in range(hits):
            b = fen_find(tree, rng.random() * total)
            s_count = local.e1[lv, b] - local.lo[lv, b]
            if s_count <= 0 or local.e2[lv, b] - local.e1[lv, b] <= 0:
                continue  # floating-point residue of an emptied block
            jbuf[m] = local.lp[lv, local.lo[lv, b] + rng.integers(0, s_count)]
            sbuf[m] = _pick_in_block_source(rng, local, lv, b, rate)
            m += 1
    return m, jbuf, sbuf
