"""Walking scanners: static seed (Code Red v1) and sequential from a start (Blaster).

Both are a host walking a fixed cyclic path of 2^bits keys, one probe per key, from a start key:

* static seed: the key of a host is its position in the one pseudo-random sequence every copy
  walks (a uniformly random distinct position per host), and every walk starts at 0;
* sequential: the key is the address itself, and each walk starts at an address drawn at
  infection (near the host's own address with probability ``local_start_share``).

A walker's probes are a Poisson process in effective time W, so the gap to the next vulnerable
host on its path (``gap`` probes away) is crossed Gamma(gap, 1/rate) later: an event per
vulnerable host passed, whatever its state (``scan_events``). At an event the host passed is
infected when it is susceptible then (and a defence lets the probe through). Hosts infected in a
step start walking at its end, from their own start. Work: one heap operation per vulnerable
host passed, so it grows with probes * V / 2^bits, not with the number of probes.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from wormlab.engine.records import LAM_DEAD, OFFLINE, STATE_MASK
from wormlab.engine.scan_events import (
    CODE_SEQUENTIAL,
    F_P_LOCAL,
    F_W,
    I_BACK24,
    I_READY,
    I_SPACE,
    append,
    live,
    pop,
    probe_host,
    push,
)


@njit(cache=True)
def start_walker(rng, h, w0, rate, scan):
    """Give host ``h`` its start and schedule its first crossing (none while its rate is 0)."""
    space = scan.ipar[I_SPACE]
    key = scan.key
    n = key.shape[0]
    start = 0
    if scan.code == CODE_SEQUENTIAL:
        if rng.random() < scan.fpar[F_P_LOCAL]:
            back = rng.integers(0, scan.ipar[I_BACK24] + 1)
            start = max((key[h] >> 8) - back, 0) << 8
        else:
            start = rng.integers(0, space)
    c = np.searchsorted(key, start)
    if c == n:
        c = 0
    scan.cur[h] = c
    if rate[h] > 0.0:
        gap = (key[c] - start) % space + 1  # probes up to and including the one that reaches it
        push(scan, w0 + rng.gamma(gap, 1.0 / rate[h]), h)


@njit(cache=True)
def step(rng, k, dt_eff, total_rate, order, bnd, state, infection, rate, fen, uniform_rate,
         defense, local, scan, lam, jbuf):
    """One spreading step: every crossing in (W, W + dt_eff]; returns (new, first, blocked, hits).

    ``hits`` counts probes that reached an online vulnerable host (each crossing is one probe);
    probes to addresses holding no online host are added to ``lam`` as a pooled Poisson mean.
    """
    w0 = scan.fpar[F_W]
    if scan.ipar[I_READY] == 0:  # the initially infected hosts start walking
        scan.ipar[I_READY] = 1
        for p in range(bnd[1], bnd[2]):
            start_walker(rng, order[p], w0, rate, scan)
    w1 = w0 + dt_eff
    key, key_host = scan.key, scan.key_host
    n = key.shape[0]
    space = scan.ipar[I_SPACE]
    new = 0
    first = 0
    blocked = 0
    hits = 0
    m = 0
    while scan.ipar[1] > 0 and scan.ht[0] <= w1:
        t, h, g = pop(scan)
        if not live(scan, h, g, state):
            continue
        c = scan.cur[h]
        target = key_host[c]
        if state[target] & STATE_MASK != OFFLINE:
            hits += 1
        got = probe_host(rng, k, h, target, order, bnd, state, infection, rate, fen, uniform_rate,
                         defense, local, scan)
        blocked += got == 1
        if got >= 2:
            new += 1
            first += got == 3
            jbuf = append(jbuf, m, target)
            m += 1
        c2 = c + 1 if c + 1 < n else 0
        gap = (key[c2] - key[c]) % space
        if gap == 0:
            gap = space  # a single vulnerable host: once round the whole space
        scan.cur[h] = c2
        push(scan, t + rng.gamma(gap, 1.0 / rate[h]), h)
    for i in range(m):  # hosts infected in this step start at its end
        start_walker(rng, jbuf[i], w1, rate, scan)
    scan.fpar[F_W] = w1
    online = state.shape[0] - (bnd[4] - bnd[3])
    lam[LAM_DEAD] += total_rate * dt_eff * (space - online) / space
    return new, first, blocked, hits, jbuf
