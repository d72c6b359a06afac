"""What the event-driven scan strategies share: their arrays, an event heap and the infection.

Static-seed, sequential and hit-list scanning are not memoryless in the address a probe goes to,
so they cannot be sampled as "a uniform susceptible host". Each infected host instead follows its
own path (a list of keys it walks in order), and its probes are a Poisson process in *effective
time* W (the sum of ``dt_eff`` over spreading steps, the same for every host). The time at which a
host reaches the next vulnerable host on its path is therefore W_now + Gamma(gap, 1 / rate): one
event per vulnerable host passed, kept in a binary heap. An event whose host has been cured or
re-infected since it was pushed is stale (its generation no longer matches) and is dropped.

``ScanArrays`` has the same field types for every strategy, so Numba compiles the kernel once.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit

from wormlab.engine import kernel_defense
from wormlab.engine.fenwick import fen_add, fen_find
from wormlab.engine.kernel_hosts import move_at
from wormlab.engine.records import EVER_BIT, INFECTED, STATE_MASK, SUSCEPTIBLE

CODE_UNIFORM, CODE_LOCAL, CODE_STATIC, CODE_SEQUENTIAL, CODE_HITLIST = 0, 1, 2, 3, 4
CODES = {"uniform": CODE_UNIFORM, "local-preference": CODE_LOCAL, "static-seed": CODE_STATIC,
         "sequential": CODE_SEQUENTIAL, "hitlist": CODE_HITLIST}
# fpar: effective time W (s), sequential scanning's local start share
F_W, F_P_LOCAL = 0, 1
# ipar: set up yet, heap size, 2^bits, permutation probes so far, local start span in /24s
I_READY, I_HEAP, I_SPACE, I_PROBED, I_BACK24 = 0, 1, 2, 3, 4

ScanArrays = namedtuple("ScanArrays", [
    "code",      # one of CODE_*
    "fpar", "ipar",
    "key",       # int64, sorted keys of the walk (sequence positions, or addresses)
    "key_host",  # int64, the host at each sorted key
    "gen",       # int64 per host, bumped at each infection (stale events are dropped)
    "cur",       # int64 per host, index into ``key`` of the next host on its path
    "lo", "hi",  # int64 per host, its share [lo, hi) of the hit-list
    "hitlist",   # int64, hosts on the hit-list in list order
    "probed",    # uint8 per host, its address was probed by the permutation
    "ht", "hh", "hg",  # the event heap: time (W), host, generation
])


def no_scan(code: int = CODE_UNIFORM) -> ScanArrays:
    """The arrays of a strategy that needs none of them (uniform, local preference)."""
    z = np.zeros(1, dtype=np.int64)
    return ScanArrays(code, np.zeros(4), np.zeros(8, dtype=np.int64), z, z, z, z, z, z, z,
                      np.zeros(1, dtype=np.uint8), np.zeros(1), z, z)


def new_scan(code: int, n: int, space: int, key: np.ndarray, key_host: np.ndarray,
             hitlist: np.ndarray | None = None) -> ScanArrays:
    """Arrays for ``n`` hosts; the heap holds up to 2n + 16 events (compacted when full)."""
    cap = 2 * n + 16
    ipar = np.zeros(8, dtype=np.int64)
    ipar[I_SPACE] = space
    return ScanArrays(code, np.zeros(4), ipar, key.astype(np.int64), key_host.astype(np.int64),
                      np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64),
                      np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64),
                      np.zeros(0, dtype=np.int64) if hitlist is None else hitlist.astype(np.int64),
                      np.zeros(n, dtype=np.uint8), np.zeros(cap), np.zeros(cap, dtype=np.int64),
                      np.zeros(cap, dtype=np.int64))


@njit(cache=True)
def _sift_down(ht, hh, hg, i, size):
    while True:
        c = 2 * i + 1
        if c >= size:
            return
        if c + 1 < size and ht[c + 1] < ht[c]:
            c += 1
        if ht[i] <= ht[c]:
            return
        ht[i], ht[c] = ht[c], ht[i]
        hh[i], hh[c] = hh[c], hh[i]
        hg[i], hg[c] = hg[c], hg[i]
        i = c


@njit(cache=True)
def push(scan, t, h):
    """Schedule host ``h`` (current generation) at effective time ``t``."""
    ht, hh, hg = scan.ht, scan.hh, scan.hg
    size = scan.ipar[I_HEAP]
    if size == ht.shape[0]:  # full: drop stale events (at most one per host is live)
        kept = 0
        for i in range(size):
            if hg[i] == scan.gen[hh[i]]:
                ht[kept], hh[kept], hg[kept] = ht[i], hh[i], hg[i]
                kept += 1
        size = kept
        for i in range(size // 2 - 1, -1, -1):
            _sift_down(ht, hh, hg, i, size)
    i = size
    ht[i], hh[i], hg[i] = t, h, scan.gen[h]
    while i > 0:
        p = (i - 1) // 2
        if ht[p] <= ht[i]:
            break
        ht[i], ht[p] = ht[p], ht[i]
        hh[i], hh[p] = hh[p], hh[i]
        hg[i], hg[p] = hg[p], hg[i]
        i = p
    scan.ipar[I_HEAP] = size + 1


@njit(cache=True)
def pop(scan):
    """Remove the earliest event; returns (time, host, generation)."""
    ht, hh, hg = scan.ht, scan.hh, scan.hg
    size = scan.ipar[I_HEAP] - 1
    t, h, g = ht[0], hh[0], hg[0]
    ht[0], hh[0], hg[0] = ht[size], hh[size], hg[size]
    scan.ipar[I_HEAP] = size
    _sift_down(ht, hh, hg, 0, size)
    return t, h, g


@njit(cache=True)
def live(scan, h, g, state):
    """An event of host ``h`` with generation ``g`` still stands: h is infected, not re-infected."""
    return g == scan.gen[h] and state[h] & STATE_MASK == INFECTED


@njit(cache=True)
def infect(h, k, src, order, bnd, state, infection, rate, fen, uniform_rate, local, scan):
    """Infect susceptible host ``h`` at the end of step ``k``; returns True on its first infection.

    Its position in ``order`` comes from ``local.pos``, kept by ``move_at`` for these strategies.
    """
    move_at(local.pos[h], INFECTED, order, bnd, state, local, rate)
    scan.gen[h] += 1
    scan.lo[h] = 0
    scan.hi[h] = 0
    if uniform_rate <= 0.0:
        fen_add(fen, h, rate[h])
    if state[h] & EVER_BIT:
        return False
    state[h] |= EVER_BIT
    infection[h, 0] = k + 1
    infection[h, 1] = src
    return True


@njit(cache=True)
def pick_source(rng, order, bnd, state, fen, total_rate, uniform_rate):
    """An infected host in proportion to its rate (uniformly when every rate is the same)."""
    n_inf = bnd[2] - bnd[1]
    if uniform_rate > 0.0:
        return order[bnd[1] + rng.integers(0, n_inf)]
    for _ in range(64):
        h = fen_find(fen, rng.random() * total_rate)
        if h < state.shape[0] and state[h] & STATE_MASK == INFECTED:
            return h
    return order[bnd[1]]


def build_scan(sc, address: np.ndarray, rng: np.random.Generator, local):
    """The scan arrays of scenario ``sc`` for hosts at sorted ``address``, and the local index.

    The event-driven strategies need each host's position in ``order``, so they get a local
    index that is inactive but keeps ``pos``. Static seed: each host gets a uniformly random
    distinct position in the shared sequence. Hit-list: a random list of the hosts.
    """
    scan = sc.worm.scan
    code = CODES[scan.kind]
    if code <= CODE_LOCAL:
        return no_scan(code), local
    n = address.size
    space = 2 ** sc.internet.address_bits
    local = local._replace(pos=np.arange(n, dtype=np.int32))
    if code == CODE_STATIC:
        position = rng.choice(space, size=n, replace=False)
        by_key = np.argsort(position, kind="stable")
        arrays = new_scan(code, n, space, position[by_key], by_key)
    elif code == CODE_SEQUENTIAL:
        arrays = new_scan(code, n, space, address, np.arange(n))
        arrays.fpar[F_P_LOCAL] = scan.local_start_share
        arrays.ipar[I_BACK24] = scan.local_back_slash24s
    else:
        hitlist = rng.choice(n, size=scan.size_for(n), replace=False)
        arrays = new_scan(code, n, space, np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64),
                          hitlist)
    return arrays, local


@njit(cache=True)
def probe_host(rng, k, src, target, order, bnd, state, infection, rate, fen, uniform_rate, defense,
               local, scan):
    """A probe from ``src`` reaches host ``target``: 0 nothing (not susceptible), 1 blocked by a
    defence, 2 infected again, 3 infected for the first time."""
    if state[target] & STATE_MASK != SUSCEPTIBLE:
        return 0
    if defense.active and not kernel_defense.accept_hit(rng, k, src, target, defense):
        return 1
    return 3 if infect(target, k, src, order, bnd, state, infection, rate, fen, uniform_rate, local, scan) else 2


@njit(cache=True)
def append(buf, m, value):
    """``buf[m] = value``, growing ``buf`` when full; returns the buffer."""
    if m == buf.shape[0]:
        grown = np.empty(2 * m + 16, dtype=np.int64)
        grown[:m] = buf[:m]
        buf = grown
    buf[m] = value
    return buf
