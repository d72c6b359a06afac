"""The compiled inner loop: exact sampling of what changes state, step after step.

Model of one step of ``dt`` seconds (the same semantics as ``engine/reference.py``, which sends
every probe one by one):

1. worm: when the calendar says *spread*, each infected host sends Poisson(rate_i * dt) probes to
   uniformly random addresses of the 2^bits space. Their total is one Poisson draw; the number
   landing on online vulnerable addresses is a binomial thinning of it, and of those the number
   landing on hosts susceptible at the start of the step is another. Each of those hits picks a
   uniformly random host among the susceptible ones (a host hit twice is infected once), and its
   source is an infected host drawn in proportion to its rate. Hosts infected in a step start
   scanning at the end of it (their ``infected_at``).
2. reboots: each infected host reboots with probability ``reboot_p`` (memory-only infection: it
   becomes susceptible again).
3. patching: each susceptible or infected host is patched with probability ``patch_p[k]``.
4. offline: each online host goes offline with probability ``offline_p``.
5. flood: when the calendar says *flood*, infected hosts send Poisson(I * flood_pps * dt) packets
   to the target.

Counts of Bernoulli trials are binomial draws, and the hosts concerned are drawn uniformly
without replacement, which is the same distribution as one coin per host. So the work grows
with the number of state changes, not with the number of probes.

Host indices live in one permutation ``order`` cut into four contiguous segments, one per state
(susceptible | infected | patched | offline): picking a uniform host of a state is one random
integer, and moving it to another state is at most three swaps. Every pick is by position, so
no inverse index is kept.
Infected hosts' probe rates live in a Fenwick tree, so picking a source in proportion to its
rate and updating the total are O(log V).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from wormlab.engine import (
    kernel_defense,
    kernel_hosts,
    scan_hitlist,
    scan_local,
    scan_walk,
    strains,
)
from wormlab.engine import kernel_defense_hosts as kdh
from wormlab.engine.draws import below
from wormlab.engine.fenwick import fen_add, fen_find, fen_total
from wormlab.engine.kernel_hosts import move_at
from wormlab.engine.records import (
    EVER_BIT,
    INFECTED,
    LAM_BUSY,
    LAM_DEAD,
    LAM_FLOOD,
    OFFLINE,
    PATCHED,
    PHASE_FLOOD,
    PHASE_SPREAD,
    R_BLOCKED,
    R_EVER,
    R_FLOOD,
    R_HITS,
    R_I,
    R_NEW,
    R_O,
    R_P,
    R_PATCHES,
    R_PROBES,
    R_REBOOTS,
    R_S,
    STATE_MASK,
    SUSCEPTIBLE,
)
from wormlab.engine.unmanaged import unmanaged


@njit(cache=True)
def _pick_source(rng, fen, total, state):
    for _ in range(64):
        h = fen_find(fen, rng.random() * total)
        if state[h] & STATE_MASK == INFECTED:
            return h
    # Floating-point edge: fall back to a linear scan for any infected host.
    for h in range(state.shape[0]):
        if state[h] & STATE_MASK == INFECTED:
            return h
    return -1


@njit(cache=True)
def infect_at(j, step, source, order, bnd, state, infection, local, rate):
    """Infect the susceptible host at position ``j``; returns True on its first infection.

    ``infection[h] = (step at whose end h was first infected, index of its infecting host,
    step at whose end it last stopped being infected)``, side by side so one cache line serves all.
    """
    h = move_at(j, INFECTED, order, bnd, state, local, rate)
    if state[h] & EVER_BIT:
        return False
    state[h] |= EVER_BIT
    infection[h, 0] = step
    infection[h, 1] = source
    return True


@njit(cache=True, inline="always")
def _infect_susceptible_at(j, k, src, order, bnd, state, infection):
    """Move the susceptible host at position ``j`` to the infected segment at the end of step
    ``k`` (swap with the last susceptible); returns 1 on its first infection, else 0.

    Batches handle positions from the highest down, so the swap never disturbs a position still
    to be handled.
    """
    last = bnd[1] - 1
    h = order[j]
    order[j] = order[last]
    order[last] = h
    bnd[1] = last
    st = state[h]
    state[h] = EVER_BIT | INFECTED
    if st & EVER_BIT == 0:
        infection[h, 0] = k + 1
        infection[h, 1] = src
        return 1
    return 0


@njit(cache=True)
def _infect_batch(rng, k, hits, s_start, uniform_rate, total_rate, order, bnd, state, infection,
                  fen, buf, trig_start, path_slot, path_kind, path_reaction, crosses, host_as, org_ingress,
                  org_egress, host_org, host_guard, org_span):
    """Apply ``hits`` probes that land on hosts susceptible at the start of step ``k``, with
    defences on the path (the arrays of ``kernel_defense.DefenseArrays`` it needs, given one by one:
    a call given the tuple costs an atomic reference count per array of it). Returns (new
    infections, first infections, hits blocked).

    Each hit picks a position uniformly in 0 .. s_start-1 and a source (uniformly, or in
    proportion to its rate); a defence on the path may drop it (thinning, one coin per hit). A
    position with accepted hits is infected once, by one of them chosen uniformly (the hits are
    independent and identically distributed, so "the first drawn" and "a uniform one" are the same
    law). So the positions are drawn first and sorted in place; then each position's hits draw
    their sources in turn, and the first accepted one infects it; where no filter can stop a hit
    on that host (no path filter, no egress filter, no ingress filter guarding it), one source is
    drawn for all its hits. Hosts move to the infected
    segment from the highest position down, which keeps every position not yet handled where it
    was, and ``order`` is read in sequence.
    """
    for i in range(hits):
        buf[i] = below(rng, s_start)
    b = buf[:hits]
    b.sort()
    old_lo = s_start  # hosts infected before this step sit at s_start .. bnd[2]-1
    n_old = bnd[2] - old_lo
    on_path, at_org = path_slot.shape[0] > 0, org_ingress.shape[0] > 0
    any_egress = org_egress.shape[0] > 0
    any_source = on_path or any_egress  # a filter that may stop hits on any target
    new = 0
    first = 0
    blocked = 0
    i = hits - 1
    while i >= 0:
        j = b[i]
        dst = order[j]
        guarded = at_org and (host_guard[kernel_defense.GUARD_IN, dst >> 6] >> np.uint64(dst & 63)) & 1
        if not any_source and not guarded:
            # nothing can block a hit on dst: every hit gets through, so one source serves them
            # all, as without defences
            while i >= 0 and b[i] == j:
                i -= 1
            if uniform_rate > 0.0:
                src = order[old_lo + below(rng, n_old)]
            else:
                src = _pick_source(rng, fen, total_rate, state)
            first += _infect_susceptible_at(j, k, src, order, bnd, state, infection)
            new += 1
            continue
        o_d = host_org[dst] if guarded else 0  # (its organisation's ingress filter, per target)
        src = -1
        while i >= 0 and b[i] == j:  # every hit of this position
            if uniform_rate > 0.0:
                s = order[old_lo + below(rng, n_old)]
            else:
                s = _pick_source(rng, fen, total_rate, state)
            ok = not (guarded and kernel_defense.ingress_blocks(k, s, o_d, trig_start, org_ingress, org_span))
            if ok and on_path:
                ok = kernel_defense.path_ok(k, s, dst, trig_start, path_slot, path_kind, path_reaction,
                                            crosses, host_as, infection)
            if ok and any_egress:
                ok = kernel_defense.egress_ok(k, s, dst, trig_start, org_egress, host_org, host_guard,
                                              org_span)
            if not ok:
                blocked += 1
            elif src < 0:
                src = s
            i -= 1
        if src >= 0:
            first += _infect_susceptible_at(j, k, src, order, bnd, state, infection)
            new += 1
    return new, first, blocked


@njit(cache=True)
def _local_hits(rng, hits_any, hits0, tot0, hits1, tot1, s_start, uniform_rate, total_rate, order, bnd,
                state, rate, fen, jbuf, sbuf, strains_on, grp, csh, cmax, natb, locg, lsh, rmaxlv, blk, lp,
                lo, e1, e2, scnt, lfen, nblk):
    """Fill (jbuf, sbuf) with this step's hits on susceptible hosts (targets, sources), the counts
    given (``jbuf`` has room for them); returns how many were kept (a /8 or /16 hit on a block
    emptied up to floating-point residue is dropped).

    Hits of the "anywhere" class pick a uniform susceptible host of the public space (with
    strains, hosts behind NAT are not its targets, and a source is accepted in proportion to its
    group's "anywhere" share); the /8 and /16 classes pick one in the source's block
    (``scan_local.level_hits``). All see the state at the start of the step.
    """
    old_lo = s_start
    n_old = bnd[2] - old_lo
    for i in range(hits_any):
        h = order[below(rng, s_start)]
        if strains_on and natb >= 0:
            while blk[0, h] == natb:
                h = order[below(rng, s_start)]
        jbuf[i] = h
        while True:
            if uniform_rate > 0.0:
                src = order[old_lo + below(rng, n_old)]
            else:
                src = _pick_source(rng, fen, total_rate, state)
            if not strains_on or strains.accept_anywhere(rng, src, grp, csh, cmax):
                break
        sbuf[i] = src
    same = uniform_rate > 0.0 and not strains_on  # one rate for all: a source needs no rate test
    m = scan_local.level_hits(rng, 0, hits0, tot0, state, rate, same, strains_on, grp, locg, lsh, rmaxlv, lp,
                              lo, e1, e2, scnt, lfen, nblk, jbuf, sbuf, hits_any)
    return scan_local.level_hits(rng, 1, hits1, tot1, state, rate, same, strains_on, grp, locg, lsh, rmaxlv,
                                 lp, lo, e1, e2, scnt, lfen, nblk, jbuf, sbuf, m)


@njit(cache=True, inline="always")
def _local_pairs(rng, kept, state, jbuf, sbuf):
    """The distinct targets among the ``kept`` hits in (jbuf, sbuf), each with one of its hits'
    sources chosen uniformly (the first in a random order of probes), written to ``jbuf`` as
    target << 32 | source; returns their number."""
    for i in range(kept):  # key = target << 32 | hit index, sorted in place
        jbuf[i] = (jbuf[i] << 32) | i
    if kept <= 24:  # a few hits, as in most steps: insertion sort (the library sort costs more)
        for i in range(1, kept):
            key = jbuf[i]
            j = i - 1
            while j >= 0 and jbuf[j] > key:
                jbuf[j + 1] = jbuf[j]
                j -= 1
            jbuf[j + 1] = key
        keys = jbuf
    else:
        keys = jbuf[:kept]
        keys.sort()
    n = 0
    i = 0
    while i < kept:
        h = keys[i] >> 32
        g0 = i
        while i < kept and keys[i] >> 32 == h:
            i += 1
        if state[h] & STATE_MASK != SUSCEPTIBLE:
            continue
        pick = g0 if i - g0 == 1 else g0 + below(rng, i - g0)
        jbuf[n] = (h << 32) | sbuf[keys[pick] & 0xFFFFFFFF]  # (n <= g0: that key is read already)
        n += 1
    return n


@njit(cache=True)
def _infect_local_defended(rng, k, row, hits_any, hits0, tot0, hits1, tot1, s_start, uniform_rate,
                           total_rate, order, bnd, state, infection, rate, fen, jbuf, sbuf, defense, local):
    """A step of local preference's hits and infections (as in ``run_steps``) with defences on
    the path: each hit is dropped or kept by one coin (``kernel_defense.accept_hit``) before the
    infections. Returns (new, first, blocked, hits)."""
    L = local
    m = _local_hits(rng, hits_any, hits0, tot0, hits1, tot1, s_start, uniform_rate, total_rate, order,
                    bnd, state, rate, fen, jbuf, sbuf, L.strains, L.grp, L.csh, L.cmax, L.natb, L.locg,
                    L.lsh, L.rmaxlv, L.blk, L.lp, L.lo, L.e1, L.e2, L.scnt, L.fen, L.nblk)
    kept = 0
    for i in range(m):
        if kernel_defense.accept_hit(rng, k, sbuf[i], jbuf[i], defense):
            jbuf[kept] = jbuf[i]
            sbuf[kept] = sbuf[i]
            kept += 1
    new = _local_pairs(rng, kept, state, jbuf, sbuf)
    first = scan_local.moves(k, row, new, jbuf, 0, 0, 0, jbuf, -1, 0, uniform_rate, order, bnd, state,
                             infection, rate, fen, L.pos, True, L.strains, L.grp, L.csh, L.locg, L.lsh,
                             L.wcount, L.arate, L.wrates, L.wrec, L.blk, L.lp, L.li, L.lo, L.e1, L.e2, L.scnt,
                             L.rsum, L.weight, L.fen, L.nblk)
    return new, first, m - kept, m


@njit(cache=True)
def run_steps(
    rng,
    k0,
    k1,
    dt_s,
    phase,
    patch_p,
    reboot_p,
    offline_p,
    flood_pps,
    space_size,
    steps_per_row,
    uniform_rate,
    order,
    bnd,
    state,
    infection,
    rate,
    fen,
    rec,
    ever,
    defense,
    local,
    saturation_per_s,
    wake_step,
    wake_host,
    wake_rate,
    wake_next,
    scan,
    congestion_eta,
):
    """Advance steps ``k0 .. k1-1`` in place; flows go to row k // steps_per_row + 1 of ``rec``.

    ``ever`` is a one-element array holding the count of hosts ever infected. When every host
    has the same rate (``uniform_rate`` > 0) sources are drawn uniformly and the Fenwick tree is
    not used. Probes that change nothing (to dead addresses, or to hosts not susceptible) and
    flood packets are independent Poisson streams (Poisson thinning), so their means are summed
    over a row and drawn once per row. With ``saturation_per_s`` > 0 the aggregate scan rate R is
    slowed to R / (1 + R / saturation_per_s) (links fill up); with ``congestion_eta`` > 0 it is
    also multiplied by (1 - I/N)^eta, I infected of the N hosts (the two-factor model's congestion,
    Zou, Gong and Towsley 2002). Hosts ``wake_host`` start scanning
    at ``wake_rate`` from step ``wake_step`` (sorted; ``wake_next[0]`` is the next to wake).
    ``scan.code`` picks the strategy: uniform (0) and local preference (1, ``local.active``) here,
    static seed and sequential in ``scan_walk``, hit-list and permutation in ``scan_hitlist``.
    """
    n_hosts = state.shape[0]
    # views that Numba does not reference-count (engine/unmanaged.py): simulate holds the arrays
    order, bnd, state, infection, rate = unmanaged(order), unmanaged(bnd), unmanaged(state), \
        unmanaged(infection), unmanaged(rate)
    fen, rec, ever = unmanaged(fen), unmanaged(rec), unmanaged(ever)
    d = defense  # its arrays read once, here: each read from the tuple is counted too
    d_trig, d_slot, d_kind = unmanaged(d.trig_start), unmanaged(d.path_slot), unmanaged(d.path_kind)
    d_react, d_cross, d_as = unmanaged(d.path_reaction), unmanaged(d.crosses), unmanaged(d.host_as)
    d_ing, d_egr, d_org = unmanaged(d.org_ingress), unmanaged(d.org_egress), unmanaged(d.host_org)
    d_guard, d_span, d_ctl = unmanaged(d.host_guard), unmanaged(d.org_span), unmanaged(d.ctl)
    d_fpar, d_ever, d_type, d_marks = unmanaged(d.fpar), unmanaged(d.ever), unmanaged(d.host_type), \
        unmanaged(d.marks)
    jbuf = np.empty(1024, dtype=np.int64)
    sbuf = np.empty(1024, dtype=np.int64)
    lam = np.zeros(3)  # pooled Poisson means this row: LAM_DEAD, LAM_BUSY, LAM_FLOOD
    share_any = local.share[2] if local.active else 1.0
    region_any = local.region[2] if local.active else space_size
    # no host defence and no per-host index: the host step needs none of the tuples of arrays
    plain_hosts = not defense.host_active and not local.active and local.pos.shape[0] != n_hosts
    plain_defended = defense.host_active and not local.active and local.pos.shape[0] != n_hosts
    # Per-host rates (bandwidth-limited scanning): a hit's source is drawn in proportion to its
    # rate by rejection, a uniform infected host accepted with probability rate / r_top, where
    # r_top bounds every rate of the run, asleep or throttled (largest rate and wake-up rate; kept
    # in fen[0], a slot the tree does not use, so it is worked out once per run). A Fenwick
    # descent costs some five cache misses, a try two; rejection is used while the mean rate of
    # the infected hosts is at least r_top / 4, and after 64 refusals the Fenwick pick is made.
    r_top = 0.0
    if uniform_rate <= 0.0 and fen.shape[0] == n_hosts + 1 and n_hosts > 0:
        if fen[0] <= 0.0:
            top = 0.0
            for h in range(n_hosts):
                top = max(top, rate[h])
            for i in range(wake_rate.shape[0]):
                top = max(top, wake_rate[i])
            fen[0] = top
        r_top = fen[0]
    # the local index's arrays, read from the tuple once, as views Numba does not count
    L = local
    l_pos, l_grp, l_csh, l_locg = unmanaged(L.pos), unmanaged(L.grp), unmanaged(L.csh), unmanaged(L.locg)
    l_lsh, l_rmaxlv, l_region, l_wcount = unmanaged(L.lsh), unmanaged(L.rmaxlv), unmanaged(L.region), \
        unmanaged(L.wcount)
    l_arate, l_wrates, l_wrec, l_blk = unmanaged(L.arate), unmanaged(L.wrates), unmanaged(L.wrec), \
        unmanaged(L.blk)
    l_lp, l_li, l_lo, l_e1, l_e2 = unmanaged(L.lp), unmanaged(L.li), unmanaged(L.lo), unmanaged(L.e1), \
        unmanaged(L.e2)
    l_rsum, l_weight, l_fen, l_nblk = unmanaged(L.rsum), unmanaged(L.weight), unmanaged(L.fen), \
        unmanaged(L.nblk)
    l_stale, l_scnt = unmanaged(L.stale), unmanaged(L.scnt)
    # One worm scanning locally, no host defence: in steps that do not spread (flood, sleep) the
    # block index is not read, so their host moves are made as in a plain run and the index is
    # rebuilt before the next spreading step (scan_local.rebuild). Code Red's flood day has some
    # 170,000 reboots and patches, each a dozen cache misses in the index.
    lazy_index = local.active and not local.strains and not defense.host_active
    for k in range(k0, k1):
        row = k // steps_per_row + 1
        hosts_done = False  # local preference: the host step was done with the infections
        spreading = phase[k] == PHASE_SPREAD
        if lazy_index and spreading and l_stale[0] != 0:
            scan_local.rebuild(order, state, rate, l_pos, l_locg, l_lsh, l_blk, l_lp, l_li, l_lo, l_e1, l_e2,
                               l_scnt, l_rsum, l_weight, l_fen, l_nblk)
            l_stale[0] = 0
        # 0. sleeping threads that wake up now
        while wake_next[0] < wake_step.shape[0] and wake_step[wake_next[0]] <= k:
            h = wake_host[wake_next[0]]
            wake_next[0] += 1
            delta = wake_rate[h] - rate[h]
            rate[h] = wake_rate[h]
            if state[h] & STATE_MASK == INFECTED:
                fen_add(fen, h, delta)
                if local.active and l_stale[0] == 0:  # (a stale index is rebuilt from the rates)
                    scan_local.on_rate_change(h, delta, local)
                if scan.code >= 2 and delta == rate[h]:  # was asleep: starts on its path now
                    if scan.code == 4:
                        scan_hitlist.schedule(rng, h, scan.fpar[0], rate, scan)
                    else:
                        scan_walk.start_walker(rng, h, scan.fpar[0], rate, scan)
        # 1. worm: probes and infections
        n_inf = bnd[2] - bnd[1]
        if spreading and n_inf > 0:
            if uniform_rate > 0.0:
                total_rate = uniform_rate * n_inf
            else:
                total_rate = fen_total(fen)
            dt_eff = dt_s
            if saturation_per_s > 0.0:
                dt_eff = dt_s / (1.0 + total_rate / saturation_per_s)
            if congestion_eta > 0.0:
                dt_eff *= (1.0 - n_inf / n_hosts) ** congestion_eta
            mean = total_rate * dt_eff
            online = n_hosts - (bnd[4] - bnd[3])
            s_start = bnd[1] - bnd[0]
            if scan.code == 4:
                new, first, blocked, hits_s, jbuf = scan_hitlist.step(
                    rng, k, dt_eff, total_rate, order, bnd, state, infection, rate, fen,
                    uniform_rate, defense, local, scan, lam, jbuf)
            elif scan.code >= 2:
                new, first, blocked, hits_s, jbuf = scan_walk.step(
                    rng, k, dt_eff, total_rate, order, bnd, state, infection, rate, fen,
                    uniform_rate, defense, local, scan, lam, jbuf)
            elif local.active:  # the counts drawn here, the hits applied only in steps with some
                multi = local.strains
                s_pub = s_start
                if multi and local.natb >= 0:  # hosts behind NAT: out of reach of "anywhere" probes
                    s_pub -= l_e1[0, local.natb]
                any_rate = local.arate[0] if multi else share_any * total_rate / region_any
                lam_any = any_rate * dt_eff * s_pub if any_rate > 1e-12 and s_pub > 0 else 0.0
                hits_any, hits0, tot0, hits1, tot1 = scan_local.level_counts(rng, lam_any, dt_eff, l_rmaxlv,
                                                                             l_region, l_fen, l_nblk)
                hits_s = hits_any + hits0 + hits1
                new = 0
                first = 0
                blocked = 0
                if hits_s > 0:
                    if hits_s > jbuf.shape[0]:
                        jbuf = np.empty(2 * hits_s, dtype=np.int64)
                        sbuf = np.empty(2 * hits_s, dtype=np.int64)
                    if defense.active:
                        new, first, blocked, hits_s = _infect_local_defended(
                            rng, k, row, hits_any, hits0, tot0, hits1, tot1, s_start, uniform_rate,
                            total_rate, order, bnd, state, infection, rate, fen, jbuf, sbuf, defense, local)
                    else:  # no defence on the path: the hits, the infections, and the host step
                        # too when it needs nothing but the index (one worm, no host defence).
                        # Written out here, the index's arrays handed on one by one as views
                        # Numba does not count: each call copies every array it is given.
                        hosts_done = not multi and not defense.host_active
                        hits_s = _local_hits(rng, hits_any, hits0, tot0, hits1, tot1, s_start, uniform_rate,
                                             total_rate, order, bnd, state, rate, fen, jbuf, sbuf, multi,
                                             l_grp, l_csh, local.cmax, local.natb, l_locg, l_lsh, l_rmaxlv,
                                             l_blk, l_lp, l_lo, l_e1, l_e2, l_scnt, l_fen, l_nblk)
                        new = _local_pairs(rng, hits_s, state, jbuf, sbuf)
                        n_reboot, n_patch, n_offline = 0, 0, 0
                        mbuf = sbuf  # (free once the pairs are made)
                        if hosts_done:  # drawn from the counts after the infections, as if after them
                            bnd[1] -= new
                            n_reboot, n_patch, n_offline = kernel_hosts.host_counts(rng, reboot_p, patch_p[k],
                                                                                    offline_p, bnd)
                            if n_reboot + n_patch + n_offline > mbuf.shape[0]:
                                mbuf = np.empty(n_reboot + n_patch + n_offline, dtype=np.int64)
                            kernel_hosts.host_offsets(rng, n_reboot, n_patch, n_offline, bnd, mbuf)
                            bnd[1] += new
                            rec[row, R_REBOOTS] += n_reboot
                            rec[row, R_PATCHES] += n_patch
                        # the infections, then the host moves, in one batch (its misses waited for together)
                        first = scan_local.moves(k, row, new, jbuf, n_reboot, n_patch, n_offline, mbuf, -1, 0,
                                                 uniform_rate, order, bnd, state, infection, rate, fen, l_pos,
                                                 True, multi, l_grp, l_csh, l_locg, l_lsh, l_wcount, l_arate,
                                                 l_wrates, l_wrec, l_blk, l_lp, l_li, l_lo, l_e1, l_e2, l_scnt,
                                                 l_rsum, l_weight, l_fen, l_nblk)
                busy = any_rate * dt_eff * (online - s_start)
                lam[LAM_BUSY] += busy
                lam[LAM_DEAD] += max(mean - busy - hits_s, 0.0)
            else:
                lam[LAM_DEAD] += mean * (space_size - online) / space_size
                lam[LAM_BUSY] += mean * (online - s_start) / space_size
                hits_s = rng.poisson(mean * s_start / space_size) if s_start > 0 else 0
                new = 0
                first = 0
                blocked = 0
                if hits_s > 0:
                    if hits_s > jbuf.shape[0]:
                        jbuf = np.empty(2 * hits_s, dtype=np.int64)
                        sbuf = np.empty(2 * hits_s, dtype=np.int64)
                    if defense.active:
                        new, first, blocked = _infect_batch(
                            rng, k, hits_s, s_start, uniform_rate, total_rate, order, bnd, state,
                            infection, fen, jbuf, d_trig, d_slot, d_kind, d_react, d_cross, d_as, d_ing,
                            d_egr, d_org, d_guard, d_span)
                    else:
                        # No defence on the path: with no coin per hit, a hit's source is
                        # independent of its target, so it is drawn only for the distinct
                        # targets, after an in-place sort of the positions. Written out here:
                        # a call per step would count references on every array it is given.
                        for i in range(hits_s):
                            jbuf[i] = below(rng, s_start)
                        b = jbuf[:hits_s]
                        b.sort()
                        n_old = bnd[2] - s_start  # infected before this step: s_start .. bnd[2]-1
                        prev = -1
                        for i in range(hits_s - 1, -1, -1):  # highest position first
                            j = b[i]
                            if j == prev:  # a host hit twice is infected once
                                continue
                            prev = j
                            if uniform_rate > 0.0:
                                src = order[s_start + below(rng, n_old)]
                            else:  # in proportion to rate: by rejection when that is cheap
                                src = -1
                                if r_top * n_old <= 4.0 * total_rate:
                                    for _t in range(64):
                                        c = order[s_start + below(rng, n_old)]
                                        if rate[c] >= r_top or rng.random() * r_top < rate[c]:
                                            src = c
                                            break
                                if src < 0:  # (exact: any pick's law given its acceptance)
                                    src = _pick_source(rng, fen, total_rate, state)
                            last = bnd[1] - 1  # swap with the last susceptible host
                            h = order[j]
                            order[j] = order[last]
                            order[last] = h
                            bnd[1] = last
                            if state[h] & EVER_BIT == 0:
                                infection[h, 0] = k + 1
                                infection[h, 1] = src
                                first += 1
                            state[h] = EVER_BIT | INFECTED
                            new += 1
                    if uniform_rate <= 0.0:
                        # New hosts (now at positions bnd[1] .. s_start-1) start scanning at t_end.
                        for p in range(bnd[1], s_start):
                            h = order[p]
                            fen_add(fen, h, rate[h])
            rec[row, R_PROBES] += hits_s
            rec[row, R_HITS] += hits_s
            rec[row, R_NEW] += new
            rec[row, R_BLOCKED] += blocked
            ever[0] += first
        if local.strains and local.reboot_p > 0.0:  # competing worms: a reboot cures some worms only
            strains.reboots(rng, k, row, uniform_rate, order, bnd, state, infection, rate, fen, rec, local)
        # 2-4. reboots, patching, going offline; 5. the flood
        if plain_hosts or (lazy_index and not spreading):  # no host defence, no index to keep
            n_reboot, n_patch, n_offline = kernel_hosts.host_counts(rng, reboot_p, patch_p[k],
                                                                    offline_p, bnd)
            if lazy_index and n_reboot + n_patch + n_offline > 0:
                l_stale[0] = 1
            # the moves of kernel_hosts.host_moves, written out: a call per step would count
            # references on each array it is given (two atomic operations per array)
            for i in range(n_reboot + n_patch + n_offline):
                if i < n_reboot:
                    j = bnd[1] + below(rng, bnd[2] - bnd[1])
                    to_state = SUSCEPTIBLE
                elif i < n_reboot + n_patch:
                    j = below(rng, bnd[2])
                    to_state = PATCHED
                else:
                    j = below(rng, bnd[3])
                    to_state = OFFLINE
                h = order[j]
                s_h = state[h] & STATE_MASK
                if s_h == INFECTED:  # it stops being infected at the end of step k
                    infection[h, 2] = k + 1
                    if uniform_rate <= 0.0:
                        fen_add(fen, h, -rate[h])
                while s_h < to_state:
                    last = bnd[s_h + 1] - 1
                    order[j] = order[last]
                    order[last] = h
                    j = last
                    bnd[s_h + 1] -= 1
                    s_h += 1
                while s_h > to_state:
                    first_p = bnd[s_h]
                    order[j] = order[first_p]
                    order[first_p] = h
                    j = first_p
                    bnd[s_h] += 1
                    s_h -= 1
                state[h] = (state[h] & EVER_BIT) | to_state
            if n_reboot + n_patch + n_offline > 0:
                rec[row, R_REBOOTS] += n_reboot
                rec[row, R_PATCHES] += n_patch
        elif plain_defended:  # the same with host defences, given their arrays one by one
            kdh.host_step(rng, k, row, reboot_p, patch_p[k], offline_p, uniform_rate, order, bnd, state,
                          infection, rate, fen, rec, d_ctl, d_fpar, d_ever, d_type, d_marks)
        elif hosts_done:  # (done with the infections)
            pass
        elif local.active and not defense.host_active:  # as plain_hosts, keeping the block index
            n_reboot, n_patch, n_offline = kernel_hosts.host_counts(rng, reboot_p, patch_p[k], offline_p,
                                                                    bnd)
            if n_reboot + n_patch + n_offline > 0:
                n_moves = n_reboot + n_patch + n_offline
                if n_moves > jbuf.shape[0]:
                    jbuf = np.empty(2 * n_moves, dtype=np.int64)
                    sbuf = np.empty(2 * n_moves, dtype=np.int64)
                kernel_hosts.host_offsets(rng, n_reboot, n_patch, n_offline, bnd, jbuf)
                scan_local.moves(k, row, 0, jbuf, n_reboot, n_patch, n_offline, jbuf, -1, 0, uniform_rate,
                                 order, bnd, state, infection, rate, fen, l_pos, True, local.strains, l_grp,
                                 l_csh, l_locg, l_lsh, l_wcount, l_arate, l_wrates, l_wrec, l_blk, l_lp, l_li,
                                 l_lo, l_e1, l_e2, l_scnt, l_rsum, l_weight, l_fen, l_nblk)
                rec[row, R_REBOOTS] += n_reboot
                rec[row, R_PATCHES] += n_patch
        elif reboot_p > 0.0 or patch_p[k] > 0.0 or offline_p > 0.0 or defense.host_active:
            # (the guard matters: entering the host step costs ~200 ns even when it does nothing)
            kernel_hosts.host_transitions(rng, k, row, reboot_p, patch_p[k], offline_p, uniform_rate,
                                          order, bnd, state, infection, rate, fen, rec, defense, local)
        if phase[k] == PHASE_FLOOD and flood_pps > 0.0:  # 5. every infected host floods the target
            lam[LAM_FLOOD] += (bnd[2] - bnd[1]) * flood_pps * dt_s
        # end of a row (or of this call): draw the pooled streams, take the snapshot
        row_end = (k + 1) % steps_per_row == 0
        if row_end or k == k1 - 1:
            if lam[LAM_DEAD] + lam[LAM_BUSY] > 0.0:
                busy = rng.poisson(lam[LAM_BUSY])
                rec[row, R_HITS] += busy
                rec[row, R_PROBES] += busy + rng.poisson(lam[LAM_DEAD])
            if lam[LAM_FLOOD] > 0.0:
                rec[row, R_FLOOD] += rng.poisson(lam[LAM_FLOOD])
            lam[:] = 0.0
        if row_end:
            rec[row, R_S] = bnd[1] - bnd[0]
            rec[row, R_I] = bnd[2] - bnd[1]
            rec[row, R_P] = bnd[3] - bnd[2]
            rec[row, R_O] = bnd[4] - bnd[3]
            rec[row, R_EVER] = ever[0]
            if local.strains:
                strains.snapshot(row, local)
