"""Exact sampling of local-preference scanning (Code Red II): probes into the source's own /8 and /16.

A probe of class "same /16" from host a lands uniformly in a's /16, so it hits a susceptible host
at rate share16 * rate_a * S_b / 2^16, where S_b is the number of susceptible hosts in a's block b.
Summed over infected hosts that is sum_b R_b * S_b / 2^16, with R_b the summed *local rate*
(rate x share of the level) of the infected hosts of block b. Hosts are sorted by address, so the
hosts of a block are a contiguous range of host indices. The engine keeps, per level (/8 and /16)
and per block: S_b, the number I_b of infected hosts that scan locally, R_b, and a 16-ary tree
of sums over blocks with weight R_b * S_b (``_tree_add``); at /8 also the list of the block's
locally scanning infected hosts (in the block's index range of ``lp[0]``, with each host's place
in ``li[0]``).

A hit then picks a block in proportion to R_b * S_b, a uniform susceptible host of the block and
a source among the block's infected hosts in proportion to its local rate:

* the target by rejection: a uniform host of the block's range, kept if susceptible. The tries per
  hit average (hosts of the block) / S_b, and since hits come in proportion to S_b, all tries
  together are about the number of local probes that reach a vulnerable host of any state; each
  reads one byte of ``state`` (a small array). After ``_tries(n)`` refusals an exact linear pick;
* the source at /8 from the list (uniform, then accepted with probability local rate / its
  maximum); at /16 (blocks of a dozen hosts at Code Red's density) by rejection in the block's
  range like the target. After many refusals an exact linear pick, so the law stays exact however
  uneven the rates.

A rejection pick with an exact pick after K refusals is exact: given acceptance at any try the
pick has the target law, and so does the fallback. Every state change goes through ``moves`` (a
step's infections, a step's reboots, patches and hosts going offline, or one move from
``kernel_hosts.move_at``): counts, R_b and weights at both levels, and the /8 list.

Speed: per state change the index touches the host's 16-byte record, its /16 block's 64-byte
record and the /16 tree (the /8 records, tree and list ends are few enough to stay in cache);
it keeps no per-block permutation of hosts, whose swaps cost three cache misses per level.
Numba counts a reference to each array handed to a function (two atomic operations per array,
per call, also for inlined functions), and to every array of a namedtuple such as
``LocalIndex``. So the hot code takes the arrays one by one, and is called once per step with
work, never once per hit or per move.

*Strains* (competing worms, hosts behind NAT; ``engine/strains.py`` builds them): each host has a
group ``grp`` = 2 x its worm + 1 if behind NAT, and the shares are per group (``lsh``: local rate
per unit rate and level; ``csh``: "anywhere" hit rate per unit rate and per address of the public
space). A host of a worm without local classes (uniform scanning) is not a local scanner: it is
counted in no I_b or R_b while infected. ``moves`` also keeps per-worm infected counts and the
summed "anywhere" rate; ``kernel._local_hits`` draws the anywhere class from them.
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
    # pos: each host's place in ``order``; per level lv and block b: blk[lv, h] the block of host
    # h, lo[lv, b] .. lo[lv, b + 1] the block's host indices, e1[lv, b] its number S_b of
    # susceptible hosts, e2[lv, b] its number I_b of infected local scanners, rsum R_b, weight
    # R_b * S_b, fen the trees over the weights, nblk the blocks per level; lp[0] the /8 blocks'
    # lists of infected local scanners (block b's at lo[0, b] .. lo[0, b] + I_b), li[0, h] the
    # place of host h in it
    # stale[0] != 0: host moves were made without the index (no spreading then), so pos and
    # the block index are rebuilt from ``order`` and ``state`` before the next spreading step
    # scnt: S_b of each /16 block (compact: 16 blocks a cache line), then of each *mid* block,
    # a run of 16 consecutive /16 blocks (fewer when a /8 holds fewer), at nblk[1] + mid: a /8
    # hit descends /8 -> mid -> /16 by these counts to a uniform susceptible host (``_pick_in_8``)
    ["active", "pos", "blk", "lp", "li", "lo", "e1", "e2", "rsum", "weight", "fen", "nblk", "stale", "scnt",
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
    lines: a host's blocks at both levels, its place in the /8 list and its place in ``order``
    (``blk``, ``li``, ``pos``) share 16 bytes, and a block's ``lo``, ``e1``, ``e2``, ``rsum``
    and ``weight`` share one 64-byte record. Each is a strided view (Numba indexes it as
    before); for ``width`` blocks per level."""
    hrec = np.zeros((n, 4), dtype=np.int32)  # blk /8, blk /16, li /8, pos
    brec = np.zeros((2, width + 1, 8), dtype=np.int64)  # lo, e1, e2, rsum, weight (as float64)
    fview = brec.view(np.float64)
    return dict(blk=hrec[:, 0:2].T, li=hrec[:, 2:3].T, pos=hrec[:, 3], lo=brec[:, :, 0],
                e1=brec[:, :width, 1], e2=brec[:, :width, 2], rsum=fview[:, :width, 3],
                weight=fview[:, :width, 4], stale=np.zeros(1, dtype=np.int64),
                scnt=np.zeros(2 * width, dtype=np.int32))


def no_local() -> LocalIndex:
    """The index of a run without local-preference scanning: every hook is skipped (the same
    array types as a real index, so Numba compiles the kernel once for both)."""
    return LocalIndex(False, lp=np.zeros((1, 1), dtype=np.int32), fen=np.zeros((2, 2)),
                      nblk=np.zeros(2, dtype=np.int64), share=np.zeros(3), region=np.ones(3), rmax=1.0,
                      **_tables(1, 1), **_no_strains(np.zeros(3), np.ones(3), 1.0))


def build_local_index(address: np.ndarray, rate: np.ndarray, bits: int, shares: tuple[float, float, float],
                      anywhere_region: float) -> LocalIndex:
    """Per-level block structures for hosts at sorted ``address`` (all susceptible at the start),
    for one worm and no NAT (``engine/strains.py`` adds the strain tables)."""
    n = address.size
    shifts = [min(32 - level, bits) for level in LEVELS]
    nblk = np.array([1 << (bits - s) if bits > s else 1 for s in shifts], dtype=np.int64)
    width = int(nblk.max())
    t = _tables(n, width)
    lo = t["lo"]
    for level in range(2):  # (only the blocks in use: the rest of a row is never read, and
        nb = int(nblk[level])  # writing it would fault in pages of zeros)
        blk = address >> np.uint32(shifts[level])
        t["blk"][level] = blk
        count = np.bincount(blk, minlength=nb)
        lo[level, 0] = 0
        np.cumsum(count, out=lo[level, 1 : nb + 1])
        t["e1"][level, :nb] = count  # every host susceptible
    count_mids(t["scnt"], t["e1"], nblk)
    t["pos"][:] = np.arange(n, dtype=np.int32)
    region = np.array([float(1 << shifts[0]), float(1 << shifts[1]), anywhere_region])
    share = np.asarray(shares, dtype=np.float64)
    rmax = float(rate.max()) if n else 1.0
    return LocalIndex(True, lp=np.empty((1, n), dtype=np.int32), fen=np.zeros((2, tree_size(width))), nblk=nblk,
                      share=share, region=region, rmax=rmax, **t, **_no_strains(share, region, rmax))


@njit(cache=True)
def count_mids(scnt, e1, nblk):
    """Fill ``scnt`` from the /16 counts ``e1[1]``: the /16 counts, then the mid blocks' sums
    (at the index's build and in ``rebuild``; ``moves`` keeps them move by move)."""
    n16, ms = nblk[1], mid_shift(nblk)
    scnt[:] = 0
    for b in range(n16):
        scnt[b] = e1[1, b]
        scnt[n16 + (b >> ms)] += e1[1, b]


@njit(cache=True, inline="always")
def mid_shift(nblk):
    """log2 of the /16 blocks per mid block: 16, or all of a /8's when it has fewer."""
    per8 = nblk[1] // nblk[0] if nblk[0] > 0 else 1  # (no_local: no blocks)
    s = 0
    while s < 4 and (2 << s) <= per8:
        s += 1
    return s


@njit(cache=True, inline="always")
def _seg(state_code, local_scanner):
    """Segment of the block index: susceptible 0, infected (scanning locally) 1, anything else 2."""
    if state_code == 0:
        return 0
    if state_code == INFECTED and local_scanner:
        return 1
    return 2


def tree_size(nblk: int) -> int:
    """Slots of one row of ``fen`` for a tree over ``nblk`` blocks (``_tree_add``)."""
    span, size = 1, 1
    while span < nblk:
        span *= 16
    while span >= 1:
        size += span
        span //= 16
    return size


@njit(cache=True, inline="always")
def _leaves(n):
    """The tree's leaf count for ``n`` blocks: the least power of 16 at or above n."""
    span = 1
    while span < n:
        span *= 16
    return span


@njit(cache=True, inline="always")
def _tree_add(fen, lv, n, b, delta):
    """Add ``delta`` to the weight of block ``b`` in row ``lv`` of ``fen``: a 16-ary tree over
    ``n`` blocks, its leaves at 1 .. P (P = 16^d >= n), then each level of sums of 16 nodes, the
    root last (slot 0 is not part of it). A change touches one leaf and d sums, the upper ones in
    a few kilobytes that stay in cache; a Fenwick tree over 65,536 blocks touched some eight
    nodes, the lower ones each a cache miss."""
    span = _leaves(n)
    off = 1
    i = b
    while True:
        fen[lv, off + i] += delta
        if span == 1:
            break
        off += span
        span //= 16
        i //= 16


@njit(cache=True, inline="always")
def _tree_total(fen, lv, n):
    """The summed weight of row ``lv`` (its root)."""
    span = _leaves(n)
    off = 1
    while span > 1:
        off += span
        span //= 16
    return fen[lv, off]


@njit(cache=True, inline="always")
def _tree_find(fen, lv, n, target):
    """The block where the running sum of weights first exceeds ``target`` (from the root down,
    16 sums a level: two cache lines at the leaves). Floating-point residue past the last sum
    gives the last block with a positive weight."""
    top = _leaves(n)
    i = 0  # index in the level below the current node
    span = 1
    while span < top:  # from the level under the root down to the leaves
        span *= 16
        off = 1  # the level of ``span`` nodes starts after the larger levels
        s = top
        while s != span:
            off += s
            s //= 16
        base = off + 16 * i
        pick = -1
        last = -1
        for c in range(16):
            v = fen[lv, base + c]
            if v > 0.0:
                last = c
                if target < v:
                    pick = c
                    break
                target -= v
        if pick < 0:
            pick = last if last >= 0 else 0
        i = 16 * i + pick
    return i if i < n else n - 1


@njit(cache=True)
def moves(k, row, n_inf, pairs, n_reboot, n_patch, n_offline, offsets, j_one, to_one,
          uniform_rate, order, bnd, state, infection, rate, fen, pos, active, strains, grp, csh, locg, lsh,
          wcount, arate, wrates, wrec, blk, lp, li, lo, e1, e2, scnt, rsum, weight, lfen, nblk):
    """A batch of state changes in a run that keeps the inverse index ``pos`` (and, when
    ``active``, the per-block index of local preference); returns the number of first infections.

    In this order: ``n_inf`` infections at the end of step ``k`` (``pairs``: target << 32 |
    source, the targets susceptible; with strains a host takes its source's worm and rate); ``n_reboot``,
    ``n_patch``, ``n_offline`` hosts drawn uniformly as in ``kernel_hosts.host_moves``, the draws
    given as ``offsets`` (``kernel_hosts.host_offsets``); then, if
    ``j_one`` >= 0, the host at position ``j_one`` of ``order`` moves to state ``to_one`` (the
    single moves of ``kernel_hosts.move_at``). A move is one swap per segment boundary crossed in
    ``order``; in the block index, counts, rates and weights change at both levels and a host
    that starts or stops scanning locally enters or leaves its /8 block's list.

    The move is written out in this one loop, not called per move: Numba counts a reference to
    every array handed to a function, even an inlined one, with two atomic operations each, which
    cost more than the move itself. So callers hand over a step's moves at once.
    """
    nw = wcount.shape[0]
    n16, ms = nblk[1], mid_shift(nblk)
    # a batch (j_one < 0) gets the kernel's uniform_rate: > 0 when every host scans at that rate
    same_rate = uniform_rate > 0.0 and j_one < 0 and not strains
    n_host = n_reboot + n_patch + n_offline
    total = n_inf + n_host + (1 if j_one >= 0 else 0)
    first_inf = 0
    if active and total > 1:
        # Touch what the moves will read, host after host, before moving any: each move is a
        # chain of dependent cache misses (host -> its record -> its block's record), and these
        # short loops let the processor wait for the misses of all the moves at once. Reads
        # only; a move may change a later move's host (a swap), which then just misses.
        acc = 0
        facc = 0.0
        for i in range(total):
            h = pairs[i] >> 32 if i < n_inf else order[(bnd[1] - n_inf if i < n_inf + n_reboot else 0)
                                                        + offsets[i - n_inf]]
            acc += pos[h] + state[h]
        for i in range(total):
            h = pairs[i] >> 32 if i < n_inf else order[(bnd[1] - n_inf if i < n_inf + n_reboot else 0)
                                                        + offsets[i - n_inf]]
            b16 = blk[1, h]  # its /16's record, count and tree leaf (``_tree_add``: leaves from 1)
            acc += e1[1, b16] + order[pos[h]] + infection[h, 0] + scnt[b16]
            facc += lfen[1, 1 + b16]
        lfen[0, 0] = acc + facc  # (an unused slot of the trees: keeps the reads)
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
        # the block index: per-worm counts, then per level S_b, I_b, R_b, the /8 list, weights
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
        # with one rate for all (a batch, no strains) the rate is not read: a cache miss
        rh = uniform_rate if same_rate else rate[h]
        for lv in range(2):
            b = blk[lv, h]
            if a == 0:
                e1[lv, b] -= 1
                if lv == 1:
                    scnt[b] -= 1
                    scnt[n16 + (b >> ms)] -= 1
            elif a == 1:
                rsum[lv, b] -= rh * lsh[g, lv]
                n_i = e2[lv, b] - 1
                e2[lv, b] = n_i
                if lv == 0:  # out of the /8 list: its last entry takes the place
                    at = li[0, h]
                    other = lp[0, lo[0, b] + n_i]
                    lp[0, at] = other
                    li[0, other] = at
            if z == 0:
                e1[lv, b] += 1
                if lv == 1:
                    scnt[b] += 1
                    scnt[n16 + (b >> ms)] += 1
            elif z == 1:
                rsum[lv, b] += rh * lsh[g, lv]
                n_i = e2[lv, b]
                e2[lv, b] = n_i + 1
                if lv == 0:  # onto the end of the /8 list
                    at = lo[0, b] + n_i
                    lp[0, at] = h
                    li[0, h] = at
            wb = rsum[lv, b] * e1[lv, b]
            if wb < 1e-9:
                wb = 0.0
            d = wb - weight[lv, b]
            if d != 0.0:  # (a block without infected local scanners keeps weight 0)
                _tree_add(lfen, lv, nblk[lv], b, d)
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
        w = local.rsum[lv, b] * local.e1[lv, b]
        _tree_add(local.fen, lv, local.nblk[lv], b, w - local.weight[lv, b])
        local.weight[lv, b] = w


@njit(cache=True)
def rebuild(order, state, rate, pos, locg, lsh, blk, lp, li, lo, e1, e2, scnt, rsum, weight, lfen, nblk):
    """Work out ``pos`` and the block index of a one-worm run (no strains) afresh from ``order``
    and ``state``: what the moves would have kept, had they been made through ``moves``.

    While nothing scans (the flood and sleep phases) the index is not read, so ``run_steps``
    makes those steps' host moves without it and calls this before the next spreading step: one
    pass over the hosts (in address order, so over the blocks in order too) instead of a dozen
    cache misses per reboot or patch. The /8 lists come out in host order; a list is only ever
    drawn from uniformly, so its order does not matter."""
    n = order.shape[0]
    for j in range(n):
        pos[order[j]] = j
    for lv in range(2):
        for b in range(nblk[lv]):
            e1[lv, b] = 0
            e2[lv, b] = 0
            rsum[lv, b] = 0.0
    for h in range(n):
        z = _seg(state[h] & STATE_MASK, locg[0])
        if z == 2:
            continue
        for lv in range(2):
            b = blk[lv, h]
            if z == 0:
                e1[lv, b] += 1
            else:
                rsum[lv, b] += rate[h] * lsh[0, lv]
                if lv == 0:
                    at = lo[0, b] + e2[0, b]
                    lp[0, at] = h
                    li[0, h] = at
                e2[lv, b] += 1
    count_mids(scnt, e1, nblk)
    for lv in range(2):
        lfen[lv, 1:] = 0.0
        for b in range(nblk[lv]):
            wb = rsum[lv, b] * e1[lv, b]
            if wb < 1e-9:
                wb = 0.0
            weight[lv, b] = wb
            if wb > 0.0:
                _tree_add(lfen, lv, nblk[lv], b, wb)


@njit(cache=True, inline="always")
def _tries(n):
    """Rejection tries in a range of ``n`` hosts before the exact linear pick: about as dear as one
    pass over the range."""
    return 16 + n // 4


@njit(cache=True, inline="always")
def level_counts(rng, lam_any, dt_s, rmaxlv, region, fen, nblk):
    """This step's numbers of hits on susceptible hosts of the "anywhere" class (mean
    ``lam_any``), the /8 and /16 classes, and the block weight totals the local ones are drawn
    against: (hits anywhere, hits /8, total /8, hits /16, total /16).

    The three are independent Poisson counts, drawn as one Poisson count of their sum, each hit
    then given a class with probability its mean over the sum (the same law; one Poisson draw a
    step costs an exponential, and most steps have no or few hits)."""
    tot0, tot1, lam0, lam1 = 0.0, 0.0, 0.0, 0.0
    if rmaxlv[0] > 0.0:
        tot0 = _tree_total(fen, 0, nblk[0])
        if tot0 > 0.0:
            lam0 = dt_s * tot0 / region[0]
    if rmaxlv[1] > 0.0:
        tot1 = _tree_total(fen, 1, nblk[1])
        if tot1 > 0.0:
            lam1 = dt_s * tot1 / region[1]
    lam = lam_any + lam0 + lam1
    hits_any, hits0, hits1 = 0, 0, 0
    if lam > 0.0:
        for _ in range(rng.poisson(lam)):
            u = rng.random() * lam
            if u < lam_any:
                hits_any += 1
            elif u < lam_any + lam0:
                hits0 += 1
            else:
                hits1 += 1
    return hits_any, hits0, tot0, hits1, tot1


@njit(cache=True, inline="always")
def _below_q(rng, q, lim, inv_q):
    """``draws.below(rng, n)`` for many draws with one ``n``: with q = 2^53 // n, lim = q * n and
    inv_q = 1 / q worked out once, a 53-bit k below lim gives k // q, each value from exactly q
    of them (exactly uniform); the quotient comes from a multiplication, corrected by one where
    rounding put it off, instead of a division (tens of cycles)."""
    while True:
        k = np.int64(rng.random() * 9007199254740992.0)
        if k < lim:
            i = np.int64(k * inv_q)
            t = i * q
            if t > k:
                i -= 1
            elif t + q <= k:
                i += 1
            return i


LINEAR_HOSTS = 64  # a range of at most this many hosts is searched in one pass, not by rejection


@njit(cache=True, inline="always")
def _nth_in_state(state, first, n, code, u):
    """The ``u``-th host (from 0) in state ``code`` among hosts first .. first+n-1, or -1."""
    for c in range(first, first + n):
        if state[c] & STATE_MASK == code:
            if u == 0:
                return c
            u -= 1
    return -1


@njit(cache=True, inline="always")
def _uniform_in_state(rng, state, first, n, count, code):
    """A uniform host in state ``code`` among hosts first .. first+n-1, ``count`` of them in it:
    in a short range the u-th for one draw u (one pass over a cache line or two), else by
    rejection (tries average n / count), with the linear pick after ``_tries(n)`` refusals."""
    if n <= LINEAR_HOSTS:
        return _nth_in_state(state, first, n, code, below(rng, count))
    q = 9007199254740992 // n
    lim = q * n
    inv_q = 1.0 / q
    for _t in range(_tries(n)):
        c = first + _below_q(rng, q, lim, inv_q)
        if state[c] & STATE_MASK == code:
            return c
    return _nth_in_state(state, first, n, code, below(rng, count))


@njit(cache=True, inline="always")
def level_hits(rng, lv, hits, total, state, rate, same_rate, strains, grp, locg, lsh, rmaxlv, lp, lo, e1, e2,
               scnt, fen, nblk, jbuf, sbuf, m):
    """Append ``hits`` hits of level ``lv`` (0: /8, 1: /16) to (jbuf, sbuf) from position ``m``,
    which must have room: targets, and sources in the target's block. Nothing is modified, so
    every hit sees the state at the start of the step. Returns the new count.

    A /8 hit's target: while at least one host in 16 of the /8 is susceptible, by rejection
    over the /8's hosts (their ``state`` bytes stay in cache). Past that, a /16 of the /8 drawn
    in proportion to its susceptible count, then a uniform susceptible host of that /16: the
    counts (``scnt``) are descended /8 -> mid block -> /16 with one draw u. On Code Red II's
    day rejection alone took 18 tries a hit as the /8s filled up, the descent alone cost more
    (its counts and the /16's record are cache misses), and the two together 25% less.

    The blocks of all the hits are drawn first, and what the picks in them will read touched
    next, so that the processor waits for the cache misses of all hits at once. With
    ``same_rate`` (one worm, one rate for all) a source needs no rate test. The picks are
    written out here, not called per hit (a call counts references to the arrays it is given).
    """
    top = rmaxlv[lv]
    n16, ms = nblk[1], mid_shift(nblk)
    per8 = n16 // nblk[0]  # /16 blocks in a /8
    for i in range(hits):
        jbuf[m + i] = _tree_find(fen, lv, nblk[lv], rng.random() * total)
    acc = 0
    for i in range(hits):
        b = jbuf[m + i]
        acc += e1[lv, b] + lo[lv, b + 1]
    for i in range(hits):
        first = lo[lv, jbuf[m + i]]
        acc += state[first] + lp[0, first] if lv == 0 else state[first]
    fen[0, 0] = acc  # (an unused slot of the trees: keeps the reads)
    out = m
    for i in range(hits):
        b = jbuf[m + i]
        n_s = e1[lv, b]
        n_i = e2[lv, b]
        if n_s <= 0 or n_i <= 0:
            continue  # floating-point residue of an emptied block
        first = lo[lv, b]
        n_b = lo[lv, b + 1] - first
        # the target: a uniform susceptible host of the block
        if lv == 0 and n_b <= 16 * n_s:  # by rejection over the /8 (tries average n_b / n_s)
            h = _uniform_in_state(rng, state, first, n_b, n_s, SUSCEPTIBLE)
        elif lv == 0:  # down the counts (costs some 16 tries, in cache misses)
            u = below(rng, n_s)
            mid = n16 + ((b * per8) >> ms)
            for _ in range((per8 >> ms) - 1):  # (stays in the /8 whatever the counts)
                if u < scnt[mid]:
                    break
                u -= scnt[mid]
                mid += 1
            b16 = (mid - n16) << ms
            for _ in range((1 << ms) - 1):
                if u < scnt[b16]:
                    break
                u -= scnt[b16]
                b16 += 1
            f16 = lo[1, b16]
            n_16 = lo[1, b16 + 1] - f16
            if n_16 <= LINEAR_HOSTS:
                h = _nth_in_state(state, f16, n_16, SUSCEPTIBLE, u)
            else:
                h = _uniform_in_state(rng, state, f16, n_16, scnt[b16], SUSCEPTIBLE)
        else:
            h = _uniform_in_state(rng, state, first, n_b, n_s, SUSCEPTIBLE)
        # the source: an infected local scanner of the block, in proportion to its local rate
        src = -1
        if lv == 0:  # from the /8 list: uniform, then accepted with probability rate / maximum
            if same_rate:
                src = lp[0, first + below(rng, n_i)]
            else:
                for _t in range(1000):
                    c = lp[0, first + below(rng, n_i)]
                    r = rate[c] * lsh[grp[c] & 15 if strains else 0, 0]
                    if r >= top or rng.random() * top < r:
                        src = c
                        break
        elif same_rate:  # in the /16 block: every infected host scans locally, at one rate
            src = _uniform_in_state(rng, state, first, n_b, n_i, INFECTED)
        else:  # in the /16 block's range: kept if an infected local scanner, then as above
            q = 9007199254740992 // n_b
            lim = q * n_b
            inv_q = 1.0 / q
            for _t in range(_tries(n_b) * 4):
                c = first + _below_q(rng, q, lim, inv_q)
                if state[c] & STATE_MASK != INFECTED:
                    continue
                g = grp[c] & 15 if strains else 0
                if not locg[g]:
                    continue
                r = rate[c] * lsh[g, 1]
                if r >= top or rng.random() * top < r:
                    src = c
                    break
        if src < 0:  # exact: in proportion to the local rates over the block
            tot = 0.0
            for x in range(n_i if lv == 0 else n_b):
                c = lp[0, first + x] if lv == 0 else first + x
                if state[c] & STATE_MASK == INFECTED:
                    g = grp[c] & 15 if strains else 0
                    if locg[g]:
                        tot += rate[c] * lsh[g, lv]
            u = rng.random() * tot
            for x in range(n_i if lv == 0 else n_b):
                c = lp[0, first + x] if lv == 0 else first + x
                if state[c] & STATE_MASK == INFECTED:
                    g = grp[c] & 15 if strains else 0
                    r = rate[c] * lsh[g, lv] if locg[g] else 0.0
                    if r > 0.0:
                        src = c
                        u -= r
                        if u < 0.0:
                            break
        if h < 0 or src < 0:
            continue  # (residue again: no susceptible host, or no positive rate, left)
        jbuf[out] = h
        sbuf[out] = src
        out += 1
    return out
