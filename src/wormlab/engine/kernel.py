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

SUSCEPTIBLE, INFECTED, PATCHED, OFFLINE = 0, 1, 2, 3
STATE_MASK = 3  # low bits of ``state``: the segment; EVER_BIT marks hosts infected at least once
EVER_BIT = 4
STATE_NAMES = ("susceptible", "infected", "patched", "offline")
PHASE_SLEEP, PHASE_SPREAD, PHASE_FLOOD = 0, 1, 2

# Columns of the per-row record array filled by the kernel.
REC_FIELDS = (
    "susceptible",
    "infected",
    "patched",
    "offline",
    "ever_infected",
    "new_infections",
    "probes_sent",
    "hits_on_vulnerable",
    "flood_packets_to_target",
    "reboots",
    "patches",
)
R_S, R_I, R_P, R_O, R_EVER, R_NEW, R_PROBES, R_HITS, R_FLOOD, R_REBOOTS, R_PATCHES = range(11)


@njit(cache=True)
def move_at(j, to_state, order, bnd, state):
    """Move the host at position ``j`` of ``order`` into segment ``to_state``; returns the host.

    Each crossing of a segment boundary is one swap with the boundary element, so a host's
    position is always known from the sampling and no inverse index is needed.
    """
    h = order[j]
    s = state[h] & STATE_MASK
    while s < to_state:
        last = bnd[s + 1] - 1
        order[j] = order[last]
        order[last] = h
        j = last
        bnd[s + 1] -= 1
        s += 1
    while s > to_state:
        first = bnd[s]
        order[j] = order[first]
        order[first] = h
        j = first
        bnd[s] += 1
        s -= 1
    state[h] = (state[h] & EVER_BIT) | to_state
    return h


@njit(cache=True)
def fen_add(fen, i, delta):
    n = fen.shape[0] - 1
    i += 1
    while i <= n:
        fen[i] += delta
        i += i & (-i)


@njit(cache=True)
def fen_total(fen):
    n = fen.shape[0] - 1
    s = 0.0
    i = n
    while i > 0:
        s += fen[i]
        i -= i & (-i)
    return s


@njit(cache=True)
def fen_find(fen, target):
    """Smallest index whose prefix sum exceeds ``target`` (0-based)."""
    n = fen.shape[0] - 1
    idx = 0
    bit = 1
    while bit * 2 <= n:
        bit *= 2
    while bit > 0:
        nxt = idx + bit
        if nxt <= n and fen[nxt] <= target:
            idx = nxt
            target -= fen[nxt]
        bit //= 2
    return idx if idx < n else n - 1


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
def infect_at(j, step, source, order, bnd, state, infection):
    """Infect the susceptible host at position ``j``; returns True on its first infection.

    ``infection[h] = (step at whose end h was first infected, index of its infecting host,
    step at whose end it last stopped being infected)``, side by side so one cache line serves all.
    """
    h = move_at(j, INFECTED, order, bnd, state)
    if state[h] & EVER_BIT:
        return False
    state[h] |= EVER_BIT
    infection[h, 0] = step
    infection[h, 1] = source
    return True


@njit(cache=True)
def _infect_batch(rng, k, hits, s_start, uniform_rate, total_rate, order, bnd, state, infection,
                  fen, buf):
    """Apply ``hits`` probes that land on hosts susceptible at the start of step ``k``.

    Each hit picks a position uniformly in 0 .. s_start-1; distinct positions are the infected
    hosts (a host hit twice is infected once). Positions are sorted, so ``order`` is read
    in sequence, and moved to the infected segment from the highest down, which keeps every
    position not yet handled where it was. Returns (new infections, first infections).
    """
    for i in range(hits):
        buf[i] = rng.integers(0, s_start)
    b = buf[:hits]
    b.sort()
    old_lo = s_start  # hosts infected before this step sit at s_start .. bnd[2]-1
    n_old = bnd[2] - old_lo
    new = 0
    first = 0
    prev = -1
    for i in range(hits - 1, -1, -1):
        j = b[i]
        if j == prev:
            continue
        prev = j
        if uniform_rate > 0.0:
            src = order[old_lo + rng.integers(0, n_old)]
        else:
            src = _pick_source(rng, fen, total_rate, state)
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
            first += 1
        new += 1
    return new, first


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
):
    """Advance steps ``k0 .. k1-1`` in place; flows go to row k // steps_per_row + 1 of ``rec``.

    ``ever`` is a one-element array holding the count of hosts ever infected. When every host
    has the same rate (``uniform_rate`` > 0) sources are drawn uniformly and the Fenwick tree is
    not used. Probes that change nothing (to dead addresses, or to hosts not susceptible) and
    flood packets are independent Poisson streams (Poisson thinning), so their means are summed
    over a row and drawn once per row.
    """
    n_hosts = state.shape[0]
    lam_dead = 0.0  # expected probes to addresses with no online vulnerable host
    lam_busy = 0.0  # expected probes to online vulnerable hosts that are not susceptible
    lam_flood = 0.0
    buf = np.empty(1024, dtype=np.int64)
    for k in range(k0, k1):
        row = k // steps_per_row + 1
        # 1. worm: probes and infections
        n_inf = bnd[2] - bnd[1]
        if phase[k] == PHASE_SPREAD and n_inf > 0:
            if uniform_rate > 0.0:
                total_rate = uniform_rate * n_inf
            else:
                total_rate = fen_total(fen)
            lam = total_rate * dt_s
            online = n_hosts - (bnd[4] - bnd[3])
            s_start = bnd[1] - bnd[0]
            lam_dead += lam * (space_size - online) / space_size
            lam_busy += lam * (online - s_start) / space_size
            hits_s = rng.poisson(lam * s_start / space_size) if s_start > 0 else 0
            rec[row, R_PROBES] += hits_s
            rec[row, R_HITS] += hits_s
            if hits_s > 0:
                if hits_s > buf.shape[0]:
                    buf = np.empty(2 * hits_s, dtype=np.int64)
                new, first = _infect_batch(rng, k, hits_s, s_start, uniform_rate, total_rate, order,
                                           bnd, state, infection, fen, buf)
                rec[row, R_NEW] += new
                ever[0] += first
                if uniform_rate <= 0.0:
                    # New hosts (now at positions bnd[1] .. s_start-1) start scanning at t_end.
                    for p in range(bnd[1], s_start):
                        h = order[p]
                        fen_add(fen, h, rate[h])
        # 2. reboots: memory-only infection is cured
        if reboot_p > 0.0:
            n_inf = bnd[2] - bnd[1]
            if n_inf > 0:
                n = rng.binomial(n_inf, reboot_p)
                for _ in range(n):
                    h = move_at(bnd[1] + rng.integers(0, bnd[2] - bnd[1]), SUSCEPTIBLE, order, bnd, state)
                    infection[h, 2] = k + 1
                    if uniform_rate <= 0.0:
                        fen_add(fen, h, -rate[h])
                rec[row, R_REBOOTS] += n
        # 3. patching of susceptible and infected hosts
        pp = patch_p[k]
        if pp > 0.0 and bnd[2] > 0:
            n = rng.binomial(bnd[2], pp)
            for _ in range(n):
                j = rng.integers(0, bnd[2])
                h = order[j]
                if state[h] & STATE_MASK == INFECTED:
                    infection[h, 2] = k + 1
                    if uniform_rate <= 0.0:
                        fen_add(fen, h, -rate[h])
                move_at(j, PATCHED, order, bnd, state)
            rec[row, R_PATCHES] += n
        # 4. hosts going offline
        if offline_p > 0.0 and bnd[3] > 0:
            n = rng.binomial(bnd[3], offline_p)
            for _ in range(n):
                j = rng.integers(0, bnd[3])
                h = order[j]
                if state[h] & STATE_MASK == INFECTED:
                    infection[h, 2] = k + 1
                    if uniform_rate <= 0.0:
                        fen_add(fen, h, -rate[h])
                move_at(j, OFFLINE, order, bnd, state)
        # 5. flood at the target
        if phase[k] == PHASE_FLOOD and flood_pps > 0.0:
            lam_flood += (bnd[2] - bnd[1]) * flood_pps * dt_s
        # end of a row (or of this call): draw the pooled streams, take the snapshot
        row_end = (k + 1) % steps_per_row == 0
        if row_end or k == k1 - 1:
            if lam_dead + lam_busy > 0.0:
                busy = rng.poisson(lam_busy)
                rec[row, R_HITS] += busy
                rec[row, R_PROBES] += busy + rng.poisson(lam_dead)
            if lam_flood > 0.0:
                rec[row, R_FLOOD] += rng.poisson(lam_flood)
            lam_dead = 0.0
            lam_busy = 0.0
            lam_flood = 0.0
        if row_end:
            rec[row, R_S] = bnd[1] - bnd[0]
            rec[row, R_I] = bnd[2] - bnd[1]
            rec[row, R_P] = bnd[3] - bnd[2]
            rec[row, R_O] = bnd[4] - bnd[3]
            rec[row, R_EVER] = ever[0]
