"""Exact sampling of local-preference scanning (Code Red II): probes into the source's own /8 and /16.

A probe of class "same /16" from host a lands uniformly in a's /16, so it hits a susceptible host
at rate share16 * rate_a * S_b / 2^16, where S_b is the number of susceptible hosts in a's block b.
Summed over infected hosts that is sum_b R_b * S_b / 2^16, with R_b the summed *local rate*
(rate x share of the level) of the infected hosts of block b. The engine keeps, per level (/8 and
/16) and per block:

* the hosts of the block (a contiguous range of host indices, since hosts are sorted by address)
  permuted into segments susceptible | infected | other, with the inverse permutation;
* R_b, and a Fenwick tree over blocks with weight R_b * S_b.

A hit then picks a block in proportion to R_b * S_b, a uniform susceptible host of the block and
a source among the block's infected hosts in proportion to its local rate (uniform pick, accepted
with probability local rate / its maximum; after many refusals an exact linear pick). Every state
change goes through ``on_move`` (called by ``kernel_hosts.move_at`` when ``local.active``), so the
work stays proportional to the number of state changes, as for uniform scanning.

*Strains* (competing worms, hosts behind NAT; ``engine/strains.py`` builds them): each host has a
group ``grp`` = 2 x its worm + 1 if behind NAT, and the shares are per group (``lsh``: local rate
per unit rate and level; ``csh``: "anywhere" hit rate per unit rate and per address of the public
space). A host of a worm without local classes (uniform scanning) sits in the "other" segment of
the block index while infected. ``on_move`` also keeps per-worm infected counts and the summed
"anywhere" rate; ``kernel._infect_local`` draws the anywhere class from them.
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
     "share", "region", "rmax",
     # per group g (2 x worm + behind NAT): local rate per unit rate at each level, anywhere rate
     # per unit rate per public address, whether it scans locally; maxima for rejection picks
     "lsh", "csh", "locg", "rmaxlv", "cmax",
     # strains: per-host group, per-worm rates, infected counts and records, the summed anywhere
     # rate, which worms a reboot cures and the reboot probability, the NAT /8 block (-1: none)
     "strains", "grp", "wrates", "wcount", "wrec", "arate", "cures", "reboot_p", "natb"],
)

LEVELS = (8, 16)  # prefix lengths of the two local classes


def _no_strains(shares: np.ndarray, region: np.ndarray, rmax: float) -> dict:
    """The per-group tables of a run with one worm and no NAT: one group, no per-host arrays."""
    lsh = np.array([[shares[0], shares[1]]])
    return dict(lsh=lsh, csh=np.array([shares[2] / region[2]]), locg=np.array([lsh.max() > 0.0]),
                rmaxlv=rmax * lsh[0].copy(), cmax=shares[2] / region[2], strains=False,
                grp=np.zeros(1, dtype=np.uint8), wrates=np.zeros((1, 1)),
                wcount=np.zeros(1, dtype=np.int64), wrec=np.zeros((1, 3), dtype=np.int64),
                arate=np.zeros(1), cures=np.ones(1, dtype=np.bool_), reboot_p=0.0, natb=-1)


def no_local() -> LocalIndex:
    """The index of a run without local-preference scanning: every hook is skipped."""
    z_i = np.zeros((2, 1), dtype=np.int64)
    z_32 = np.zeros((2, 1), dtype=np.int32)
    z_f = np.zeros((2, 1))
    return LocalIndex(False, np.zeros(1, dtype=np.int32), z_32, z_32, z_32, z_i, z_i, z_i, z_f, z_f,
                      z_f, np.zeros(2, dtype=np.int64), np.zeros(3), np.ones(3), 1.0,
                      **_no_strains(np.zeros(3), np.ones(3), 1.0))


def build_local_index(address: np.ndarray, rate: np.ndarray, bits: int, shares: tuple[float, float, float],
                      anywhere_region: float) -> LocalIndex:
    """Per-level block structures for hosts at sorted ``address`` (all susceptible at the start),
    for one worm and no NAT (``engine/strains.py`` adds the strain tables)."""
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
    share = np.asarray(shares, dtype=np.float64)
    rmax = float(rate.max()) if n else 1.0
    return LocalIndex(
        True, np.arange(n, dtype=np.int32), blk, ident.copy(), ident.copy(), lo,
        ends.copy(), ends.copy(), np.zeros((2, width)), np.zeros((2, width)),
        np.zeros((2, width + 1)), nblk, share, region, rmax, **_no_strains(share, region, rmax),
    )


@njit(cache=True, inline="always")
def _seg(state_code, local_scanner):
    """Segment of the block index: susceptible 0, infected (scanning locally) 1, anything else 2."""
    if state_code == 0:
        return 0
    if state_code == INFECTED and local_scanner:
        return 1
    return 2


@njit(cache=True, inline="always")
def on_move(h, old_state, new_state, local, rate):
    """Keep the per-block segments, R_b and block weights in step with a host's state change."""
    g = local.grp[h] & 15 if local.strains else 0
    if local.strains and (old_state == INFECTED) != (new_state == INFECTED):
        w = g >> 1
        r = rate[h] * local.csh[g]  # (grp: bit 0 behind NAT, bits 1-3 worm; strains.py)
        if old_state == INFECTED:
            local.wcount[w] -= 1
            local.arate[0] -= r
        else:
            local.wcount[w] += 1
            local.arate[0] += r
    loc = local.locg[g]
    a = _seg(old_state, loc)
    z = _seg(new_state, loc)
    if a == z:
        return
    for lv in range(2):
        b = local.blk[lv, h]
        lp = local.lp[lv]
        li = local.li[lv]
        if a == 1:
            local.rsum[lv, b] -= rate[h] * local.lsh[g, lv]
        if z == 1:
            local.rsum[lv, b] += rate[h] * local.lsh[g, lv]
        # move across the local segment boundaries (e1: end of susceptible, e2: end of infected)
        j = li[h]
        if a < z:
            for s in range(a, z):
                bound = local.e1 if s == 0 else local.e2
                last = bound[lv, b] - 1
                other = lp[last]
                lp[j] = other
                li[other] = j
                lp[last] = h  # (the next boundary may be this same slot)
                j = last
                bound[lv, b] = last
        else:
            for s in range(a, z, -1):
                bound = local.e1 if s == 1 else local.e2
                first = bound[lv, b]
                other = lp[first]
                lp[j] = other
                li[other] = j
                lp[first] = h
                j = first
                bound[lv, b] = first + 1
        li[h] = j
        w = local.rsum[lv, b] * (local.e1[lv, b] - local.lo[lv, b])
        if w < 1e-9:
            w = 0.0
        fen_add(local.fen[lv, : local.nblk[lv] + 1], b, w - local.weight[lv, b])
        local.weight[lv, b] = w


@njit(cache=True)
def on_rate_change(h, delta, local):
    """An infected host's rate changed by ``delta`` (a sleeping thread woke up)."""
    g = local.grp[h] & 15 if local.strains else 0
    if local.strains:
        local.arate[0] += delta * local.csh[g]
    if not local.locg[g]:
        return
    for lv in range(2):
        b = local.blk[lv, h]
        local.rsum[lv, b] += delta * local.lsh[g, lv]
        w = local.rsum[lv, b] * (local.e1[lv, b] - local.lo[lv, b])
        fen_add(local.fen[lv, : local.nblk[lv] + 1], b, w - local.weight[lv, b])
        local.weight[lv, b] = w


@njit(cache=True)
def _pick_in_block_source(rng, local, lv, b, rate):
    """An infected host of block b, in proportion to its local rate (uniform pick, then accepted
    with probability local rate / its maximum; after 1000 refusals an exact linear pick, so the
    law stays exact however uneven the rates)."""
    lo = local.e1[lv, b]
    n_inf = local.e2[lv, b] - lo
    top = local.rmaxlv[lv]
    for _ in range(1000):
        h = local.lp[lv, lo + rng.integers(0, n_inf)]
        g = local.grp[h] & 15 if local.strains else 0
        r = rate[h] * local.lsh[g, lv]
        if r >= top or rng.random() * top < r:
            return h
    total = 0.0
    for i in range(lo, lo + n_inf):
        h = local.lp[lv, i]
        total += rate[h] * local.lsh[local.grp[h] & 15 if local.strains else 0, lv]
    u = rng.random() * total
    for i in range(lo, lo + n_inf):
        h = local.lp[lv, i]
        u -= rate[h] * local.lsh[local.grp[h] & 15 if local.strains else 0, lv]
        if u < 0.0:
            return h
    return local.lp[lv, lo + n_inf - 1]


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
        if local.rmaxlv[lv] <= 0.0:
            continue
        tree = local.fen[lv, : local.nblk[lv] + 1]  # a prefix of a Fenwick array is a tree too
        total = fen_total(tree)
        if total <= 0.0:
            continue
        hits = rng.poisson(dt_s * total / local.region[lv])
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
