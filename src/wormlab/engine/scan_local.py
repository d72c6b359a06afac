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
change goes through ``moves`` (a step's infections, a step's reboots, patches and hosts going
offline, or one move from ``kernel_hosts.move_at``), so the work stays proportional to the number
of state changes, as for uniform scanning.

Speed: Numba counts a reference to each array handed to a function (two atomic operations per
array, per call, also for inlined functions), and to every array of a namedtuple such as
``LocalIndex``. So the hot code takes the arrays one by one, and is called once per step with
work, never once per hit or per move.

*Strains* (competing worms, hosts behind NAT; ``engine/strains.py`` builds them): each host has a
group ``grp`` = 2 x its worm + 1 if behind NAT, and the shares are per group (``lsh``: local rate
per unit rate and level; ``csh``: "anywhere" hit rate per unit rate and per address of the public
space). A host of a worm without local classes (uniform scanning) sits in the "other" segment of
the block index while infected. ``moves`` also keeps per-worm infected counts and the summed
"anywhere" rate; ``kernel._local_hits`` draws the anywhere class from them.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit

from wormlab.engine.draws import below
from wormlab.engine.fenwick import fen_add
from wormlab.engine.records import EVER_BIT, INFECTED, OFFLINE, PATCHED, STATE_MASK, SUSCEPTIBLE

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


def _tables(n: int, width: int) -> dict:
    """The per-host and per-block arrays, laid out so that one state change touches few cache
    lines: a host's blocks and places at both levels (``blk``, ``li``) share 16 bytes, and a
    block's ``lo``, ``e1``, ``e2``, ``rsum`` and ``weight`` share one 64-byte record. Each is a
    strided view (Numba indexes it as before); for ``width`` blocks per level."""
    hrec = np.zeros((n, 4), dtype=np.int32)  # blk /8, blk /16, li /8, li /16
    brec = np.zeros((2, width + 1, 8), dtype=np.int64)  # lo, e1, e2, rsum, weight (as float64)
    fview = brec.view(np.float64)
    return dict(blk=hrec[:, 0:2].T, li=hrec[:, 2:4].T, lo=brec[:, :, 0], e1=brec[:, :width, 1],
                e2=brec[:, :width, 2], rsum=fview[:, :width, 3], weight=fview[:, :width, 4])


def no_local() -> LocalIndex:
    """The index of a run without local-preference scanning: every hook is skipped (the same
    array types as a real index, so Numba compiles the kernel once for both)."""
    return LocalIndex(False, np.zeros(1, dtype=np.int32), lp=np.zeros((2, 1), dtype=np.int32),
                      fen=np.zeros((2, 2)), nblk=np.zeros(2, dtype=np.int64), share=np.zeros(3),
                      region=np.ones(3), rmax=1.0, **_tables(1, 1),
                      **_no_strains(np.zeros(3), np.ones(3), 1.0))


def build_local_index(address: np.ndarray, rate: np.ndarray, bits: int, shares: tuple[float, float, float],
                      anywhere_region: float) -> LocalIndex:
    """Per-level block structures for hosts at sorted ``address`` (all susceptible at the start),
    for one worm and no NAT (``engine/strains.py`` adds the strain tables)."""
    n = address.size
    shifts = [min(32 - level, bits) for level in LEVELS]
    nblk = np.array([1 << (bits - s) if bits > s else 1 for s in shifts], dtype=np.int64)
    width = int(nblk.max())
    t = _tables(n, width)
    t["blk"][:] = np.stack([(address.astype(np.int64) >> s) for s in shifts])
    lo = t["lo"]
    for level in range(2):
        lo[level, : nblk[level] + 1] = np.searchsorted(t["blk"][level], np.arange(nblk[level] + 1))
        lo[level, nblk[level] + 1 :] = n
    t["e1"][:] = lo[:, 1:]
    t["e2"][:] = lo[:, 1:]
    ident = np.tile(np.arange(n, dtype=np.int32), (2, 1))  # int32 halves the cache footprint
    t["li"][:] = ident
    region = np.array([float(1 << shifts[0]), float(1 << shifts[1]), anywhere_region])
    share = np.asarray(shares, dtype=np.float64)
    rmax = float(rate.max()) if n else 1.0
    return LocalIndex(True, np.arange(n, dtype=np.int32), lp=ident, fen=np.zeros((2, width + 1)), nblk=nblk,
                      share=share, region=region, rmax=rmax, **t, **_no_strains(share, region, rmax))


@njit(cache=True, inline="always")
def _seg(state_code, local_scanner):
    """Segment of the block index: susceptible 0, infected (scanning locally) 1, anything else 2."""
    if state_code == 0:
        return 0
    if state_code == INFECTED and local_scanner:
        return 1
    return 2


@njit(cache=True, inline="always")
def fen_add_row(fen, lv, n, b, delta):
    """``fenwick.fen_add`` on row ``lv`` (a tree over ``n`` blocks) of a 2-D array: a row view
    would be one more reference to count at every call."""
    i = b + 1
    while i <= n:
        fen[lv, i] += delta
        i += i & (-i)


@njit(cache=True, inline="always")
def fen_total_row(fen, lv, n):
    """``fenwick.fen_total`` on row ``lv`` of a 2-D array."""
    s = 0.0
    i = n
    while i > 0:
        s += fen[lv, i]
        i -= i & (-i)
    return s


@njit(cache=True, inline="always")
def fen_find_row(fen, lv, n, target):
    """``fenwick.fen_find`` on row ``lv`` of a 2-D array."""
    idx = 0
    bit = 1
    while bit * 2 <= n:
        bit *= 2
    while bit > 0:
        nxt = idx + bit
        if nxt <= n and fen[lv, nxt] <= target:
            idx = nxt
            target -= fen[lv, nxt]
        bit //= 2
    return idx if idx < n else n - 1


@njit(cache=True)
def moves(k, row, n_inf, pairs, n_reboot, n_patch, n_offline, offsets, j_one, to_one,
          uniform_rate, order, bnd, state, infection, rate, fen, pos, active, strains, grp, csh, locg, lsh,
          wcount, arate, wrates, wrec, blk, lp, li, lo, e1, e2, rsum, weight, lfen, nblk):
    """A batch of state changes in a run that keeps the inverse index ``pos`` (and, when
    ``active``, the per-block index of local preference); returns the number of first infections.

    In this order: ``n_inf`` infections at the end of step ``k`` (``pairs``: target << 32 |
    source, the targets susceptible; with strains a host takes its source's worm and rate); ``n_reboot``,
    ``n_patch``, ``n_offline`` hosts drawn uniformly as in ``kernel_hosts.host_moves``, the draws
    given as ``offsets`` (``kernel_hosts.host_offsets``); then, if
    ``j_one`` >= 0, the host at position ``j_one`` of ``order`` moves to state ``to_one`` (the
    single moves of ``kernel_hosts.move_at``). A move is one swap per segment boundary crossed in
    ``order`` and in the host's /8 and /16 blocks (segments susceptible | infected | other).

    The move is written out in this one loop, not called per move: Numba counts a reference to
    every array handed to a function, even an inlined one, with two atomic operations each, which
    cost more than the move itself. So callers hand over a step's moves at once.
    """
    nw = wcount.shape[0]
    n_host = n_reboot + n_patch + n_offline
    total = n_inf + n_host + (1 if j_one >= 0 else 0)
    first_inf = 0
    for i in range(total):
        w = 0
        if i < n_inf:
            h = pairs[i] >> 32
            src = pairs[i] & 0xFFFFFFFF
            j = pos[h]
            to_state = INFECTED
            if strains:  # the host takes its source's worm (its first worm's bits stay)
                w = (grp[src] >> 1) & 7
                old = grp[h]
                grp[h] = (old & 0xF0) | (2 * w) | (old & 1)
                rate[h] = wrates[w, h]
        else:
            m = i - n_inf
            if m < n_reboot:
                j = bnd[1] + offsets[m]
                to_state = SUSCEPTIBLE
            elif m < n_reboot + n_patch:
                j = offsets[m]
                to_state = PATCHED
            elif m < n_host:
                j = offsets[m]
                to_state = OFFLINE
            else:
                j = j_one
                to_state = to_one
            h = order[j]
            if m < n_host and state[h] & STATE_MASK == INFECTED:  # stops at the end of step k
                infection[h, 2] = k + 1
                if uniform_rate <= 0.0:
                    fen_add(fen, h, -rate[h])
        # the move in ``order``
        s0 = state[h] & STATE_MASK
        s = s0
        while s < to_state:
            last = bnd[s + 1] - 1
            other = order[last]
            order[j] = other
            order[last] = h
            pos[other] = j
            j = last
            bnd[s + 1] -= 1
            s += 1
        while s > to_state:
            first = bnd[s]
            other = order[first]
            order[j] = other
            order[first] = h
            pos[other] = j
            j = first
            bnd[s] += 1
            s -= 1
        state[h] = (state[h] & EVER_BIT) | to_state
        pos[h] = j
        if i < n_inf:
            if state[h] & EVER_BIT == 0:
                state[h] |= EVER_BIT
                infection[h, 0] = k + 1
                infection[h, 1] = src
                first_inf += 1
                if strains:  # keep the first infection's worm in bits 4-7
                    g1 = grp[h]
                    grp[h] = 0x80 | (((g1 >> 1) & 7) << 4) | (g1 & 15)
                    wrec[row, 2 * nw + w] += 1
            if strains:
                wrec[row, nw + w] += 1
            if uniform_rate <= 0.0:
                fen_add(fen, h, rate[h])
        if not active:
            continue
        # the block index: per-worm counts, R_b, the segments of both levels, block weights
        g = grp[h] & 15 if strains else 0
        if strains and (s0 == INFECTED) != (to_state == INFECTED):
            r = rate[h] * csh[g]  # (grp: bit 0 behind NAT, bits 1-3 worm; strains.py)
            if s0 == INFECTED:
                wcount[g >> 1] -= 1
                arate[0] -= r
            else:
                wcount[g >> 1] += 1
                arate[0] += r
        a = _seg(s0, locg[g])
        z = _seg(to_state, locg[g])
        if a == z:
            continue
        for lv in range(2):
            b = blk[lv, h]
            if a == 1:
                rsum[lv, b] -= rate[h] * lsh[g, lv]
            if z == 1:
                rsum[lv, b] += rate[h] * lsh[g, lv]
            # across the block's segment boundaries (e1: end of susceptible, e2: end of infected)
            jl = li[lv, h]
            if a < z:
                for sg in range(a, z):
                    if sg == 0:
                        last = e1[lv, b] - 1
                        e1[lv, b] = last
                    else:
                        last = e2[lv, b] - 1
                        e2[lv, b] = last
                    other = lp[lv, last]
                    lp[lv, jl] = other
                    li[lv, other] = jl
                    lp[lv, last] = h  # (the next boundary may be this same slot)
                    jl = last
            else:
                for sg in range(a, z, -1):
                    if sg == 1:
                        first = e1[lv, b]
                        e1[lv, b] = first + 1
                    else:
                        first = e2[lv, b]
                        e2[lv, b] = first + 1
                    other = lp[lv, first]
                    lp[lv, jl] = other
                    li[lv, other] = jl
                    lp[lv, first] = h
                    jl = first
            li[lv, h] = jl
            wb = rsum[lv, b] * (e1[lv, b] - lo[lv, b])
            if wb < 1e-9:
                wb = 0.0
            t = b + 1  # fen_add_row, written out
            d = wb - weight[lv, b]
            while t <= nblk[lv]:
                lfen[lv, t] += d
                t += t & (-t)
            weight[lv, b] = wb
    return first_inf


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
        fen_add_row(local.fen, lv, local.nblk[lv], b, w - local.weight[lv, b])
        local.weight[lv, b] = w


@njit(cache=True, inline="always")
def _pick_in_block_source(rng, lv, b, rate, same_rate, strains, grp, lsh, rmaxlv, lp, e1, e2):
    """An infected host of block b, in proportion to its local rate (uniform pick, then accepted
    with probability local rate / its maximum; after 1000 refusals an exact linear pick, so the
    law stays exact however uneven the rates). With ``same_rate`` (every host scans at the same
    rate, one worm) the uniform pick is the answer, and its rate is not read (a cache miss)."""
    lo = e1[lv, b]
    n_inf = e2[lv, b] - lo
    if same_rate:
        return lp[lv, lo + below(rng, n_inf)]
    top = rmaxlv[lv]
    for _ in range(1000):
        h = lp[lv, lo + below(rng, n_inf)]
        r = rate[h] * lsh[grp[h] & 15 if strains else 0, lv]
        if r >= top or rng.random() * top < r:
            return h
    total = 0.0
    for i in range(lo, lo + n_inf):
        h = lp[lv, i]
        total += rate[h] * lsh[grp[h] & 15 if strains else 0, lv]
    u = rng.random() * total
    for i in range(lo, lo + n_inf):
        h = lp[lv, i]
        u -= rate[h] * lsh[grp[h] & 15 if strains else 0, lv]
        if u < 0.0:
            return h
    return lp[lv, lo + n_inf - 1]


@njit(cache=True, inline="always")
def level_counts(rng, dt_s, rmaxlv, region, fen, nblk):
    """This step's numbers of hits of the /8 and /16 classes on susceptible hosts, and the block
    weight totals they are drawn against: (hits /8, total /8, hits /16, total /16)."""
    hits0, hits1, tot0, tot1 = 0, 0, 0.0, 0.0
    if rmaxlv[0] > 0.0:
        tot0 = fen_total_row(fen, 0, nblk[0])
        if tot0 > 0.0:
            hits0 = rng.poisson(dt_s * tot0 / region[0])
    if rmaxlv[1] > 0.0:
        tot1 = fen_total_row(fen, 1, nblk[1])
        if tot1 > 0.0:
            hits1 = rng.poisson(dt_s * tot1 / region[1])
    return hits0, tot0, hits1, tot1


@njit(cache=True, inline="always")
def level_hits(rng, lv, hits, total, rate, same_rate, strains, grp, lsh, rmaxlv, lp, lo, e1, e2, fen, nblk, jbuf,
               sbuf, m):
    """Append ``hits`` hits of level ``lv`` (0: /8, 1: /16) to (jbuf, sbuf) from position ``m``,
    which must have room: targets, and sources in the target's block. Nothing is modified, so
    every hit sees the state at the start of the step. Returns the new count."""
    for _ in range(hits):
        b = fen_find_row(fen, lv, nblk[lv], rng.random() * total)
        s_count = e1[lv, b] - lo[lv, b]
        if s_count <= 0 or e2[lv, b] - e1[lv, b] <= 0:
            continue  # floating-point residue of an emptied block
        jbuf[m] = lp[lv, lo[lv, b] + below(rng, s_count)]
        sbuf[m] = _pick_in_block_source(rng, lv, b, rate, same_rate, strains, grp, lsh, rmaxlv, lp, e1, e2)
        m += 1
    return m
