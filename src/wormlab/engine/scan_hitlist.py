"""Hit-list then permutation scanning (Warhol), and the flash worm.

Hit-list: the initially infected hosts split the list into equal contiguous shares. A host with a
share [lo, hi) probes its entries in order, one probe each, as a Poisson process at its rate (an
event per probe, ``scan_events``); when a probe infects its target (susceptible, and let through
by the defences), the target takes the upper half of the prober's remaining share and starts on
it at the end of the step. A host whose share is done, or that never had one, scans the
permutation from the next step on.

Permutation: the idealised shared permutation is sampling addresses without replacement across
all hosts. With P addresses probed so far, R = 2^bits - P remain; a step's permutation probes
m ~ Poisson(rate of the non-holders * dt) (at most R) each land on a uniformly random unprobed
address, so a probe reaches an unprobed susceptible host with probability K / R. The engine draws
Binomial(m, S / R) candidates, distinct uniform susceptible hosts (S of them), and keeps those
never probed: each probe is then exact, K / R, and the last probes of the space reach every host
left. Approximations, both small: the count of candidates is binomial where the exact law is
hypergeometric (they differ by a factor 1 - m / R in variance); and probes that
reach a busy host (infected, patched) do not mark it, so a host infected from the list and later
cured can still be found by the permutation. Once every address is probed, scanning stops.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from wormlab.engine import kernel_defense
from wormlab.engine.records import LAM_BUSY, LAM_DEAD, OFFLINE, STATE_MASK, SUSCEPTIBLE
from wormlab.engine.scan_events import (
    F_W,
    I_HEAP,
    I_PROBED,
    I_READY,
    I_SPACE,
    append,
    infect,
    live,
    pick_source,
    pop,
    probe_host,
    push,
)


@njit(cache=True)
def schedule(rng, h, w0, rate, scan):
    """Schedule the next list probe of host ``h`` if it has a share left and a rate."""
    if scan.lo[h] < scan.hi[h] and rate[h] > 0.0:
        push(scan, w0 + rng.exponential(1.0 / rate[h]), h)


@njit(cache=True)
def _deal(rng, w0, order, bnd, rate, scan):
    """Split the list among the initially infected hosts and schedule them."""
    n_seed = bnd[2] - bnd[1]
    size = scan.hitlist.shape[0]
    for i in range(n_seed):
        h = order[bnd[1] + i]
        scan.lo[h] = size * i // n_seed
        scan.hi[h] = size * (i + 1) // n_seed
        schedule(rng, h, w0, rate, scan)


@njit(cache=True)
def _list_rate(scan, state, rate):
    """Summed rate of the hosts working through a share now (live events, one per holder)."""
    s = 0.0
    for i in range(scan.ipar[I_HEAP]):
        h = scan.hh[i]
        if live(scan, h, scan.hg[i], state):
            s += rate[h]
    return s


@njit(cache=True)
def step(rng, k, dt_eff, total_rate, order, bnd, state, infection, rate, fen, uniform_rate,
         defense, local, scan, lam, jbuf):
    """One spreading step: list probes, then permutation probes; returns (new, first, blocked, hits)."""
    w0 = scan.fpar[F_W]
    if scan.ipar[I_READY] == 0:
        scan.ipar[I_READY] = 1
        _deal(rng, w0, order, bnd, rate, scan)
    w1 = w0 + dt_eff
    perm_rate = max(total_rate - _list_rate(scan, state, rate), 0.0)
    s_start = bnd[1] - bnd[0]
    new = 0
    first = 0
    blocked = 0
    hits = 0
    m = 0
    # 1. the hit-list: one event per probe, in time order
    while scan.ipar[I_HEAP] > 0 and scan.ht[0] <= w1:
        t, h, g = pop(scan)
        if not live(scan, h, g, state):
            continue
        target = scan.hitlist[scan.lo[h]]
        scan.lo[h] += 1
        if state[target] & STATE_MASK != OFFLINE:
            hits += 1
        got = probe_host(rng, k, h, target, order, bnd, state, infection, rate, fen, uniform_rate,
                         defense, local, scan)
        blocked += got == 1
        if got >= 2:  # the new host takes the upper half of what is left of the share
            new += 1
            first += got == 3
            mid = (scan.lo[h] + scan.hi[h] + 1) // 2
            scan.lo[target] = mid
            scan.hi[target] = scan.hi[h]
            scan.hi[h] = mid
            jbuf = append(jbuf, m, target)
            m += 1
        if scan.lo[h] < scan.hi[h]:
            push(scan, t + rng.exponential(1.0 / rate[h]), h)
    n_list = m
    # 2. the permutation: probes to never-probed addresses, from the state at the step's start
    space = scan.ipar[I_SPACE]
    left = space - scan.ipar[I_PROBED]
    online = state.shape[0] - (bnd[4] - bnd[3])
    if perm_rate > 0.0 and left > 0 and s_start > 0:
        n_probes = min(rng.poisson(perm_rate * dt_eff), left)
        scan.ipar[I_PROBED] += n_probes
        if n_probes == left:  # the last addresses: every unprobed host is reached
            cand = s_start
        else:
            cand = min(rng.binomial(n_probes, min(1.0, s_start / left)), s_start)
        if m + cand > jbuf.shape[0]:
            grown = np.empty(2 * (m + cand) + 16, dtype=np.int64)
            grown[:m] = jbuf[:m]
            jbuf = grown
        srcs = np.empty(cand, dtype=np.int64)
        picked = 0
        stamp = k + 1  # ``cur`` (unused by this strategy) marks hosts drawn in this step
        for i in range(cand):
            if cand == s_start:
                h = order[bnd[0] + i]
            else:  # distinct uniform susceptible hosts (the segment of the step's start)
                h = order[bnd[0] + rng.integers(0, s_start)]
                while scan.cur[h] == stamp:
                    h = order[bnd[0] + rng.integers(0, s_start)]
            scan.cur[h] = stamp
            if scan.probed[h]:
                continue
            scan.probed[h] = 1
            jbuf[m + picked] = h
            for _ in range(64):  # a source among the hosts scanning the permutation
                src = pick_source(rng, order, bnd, state, fen, total_rate, uniform_rate)
                if not (scan.lo[src] < scan.hi[src] and live(scan, src, scan.gen[src], state)):
                    break
            srcs[picked] = src
            picked += 1
        # positions in ``order`` shift as hosts move, so infect only after every pick
        for i in range(picked):
            target = jbuf[m + i]
            if state[target] & STATE_MASK != SUSCEPTIBLE:
                continue  # infected from the list in this same step
            hits += 1
            if defense.active and not kernel_defense.accept_hit(rng, k, srcs[i], target, defense):
                blocked += 1
                continue
            if infect(target, k, srcs[i], order, bnd, state, infection, rate, fen, uniform_rate,
                      local, scan):
                first += 1
            new += 1
        busy = n_probes * max(online - s_start, 0) / left
        lam[LAM_BUSY] += busy
        lam[LAM_DEAD] += max(n_probes - picked - busy, 0.0)
    for i in range(n_list):  # list hosts infected in this step start on their share at its end
        schedule(rng, jbuf[i], w1, rate, scan)
    scan.fpar[F_W] = w1
    return new, first, blocked, hits, jbuf
