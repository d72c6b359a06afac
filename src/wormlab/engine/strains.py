"""Competing worms and hosts behind NAT: set-up, and the compiled hooks the kernel calls.

A run has *strains* when ``worm.competitors`` adds worms or ``internet.nat`` puts hosts behind
NAT. It then goes through the local-preference sampler (``scan_local``, ``kernel.run_steps``)
with per-group shares: group g = 2 x worm + (1 if behind NAT); a uniform worm is a worm whose
only class is "anywhere". Why this is exact:

* Every infected host's probes are independent Poisson streams, so the hits on susceptible hosts
  are a superposition of per-class streams, each sampled as in ``scan_local``: a hit's source is
  drawn in proportion to its rate in that class, and the hit carries its source's worm.
* A host hit during a step by several probes is infected by one of them chosen uniformly (the
  first in a random order of probes, as in ``engine/reference.py``), so by worm w with
  probability proportional to w's hits on it.
* A host is infected only while susceptible, so a host held by one worm is never taken by
  another; a reboot cures only the hosts of worms that a reboot cures (``reboots`` below: a
  binomial count of those hosts, each picked uniformly among them by rejection).
* Behind NAT (10/8): the hosts' same-/8 and same-/16 probes stay in 10/8, and their "anywhere"
  probes that fall in 10/8 (2^24 of the region's addresses) reach it too, folded into their /8
  share; "anywhere" probes reach hosts in 10/8 from no other source.

The host byte ``grp``: bit 0 behind NAT, bits 1-3 the current (or last) worm, bits 4-6 the worm
of the first infection (the host table's ``worm``), so at most ``MAX_WORMS`` worms.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from wormlab.engine.kernel_hosts import _leave_infected, move_at
from wormlab.engine.records import R_REBOOTS, SUSCEPTIBLE
from wormlab.errors import ScenarioError
from wormlab.internet.address_space import nat_mask
from wormlab.worms.rates import draw_probe_rates

MAX_WORMS = 8
GROUP_MASK = 15


def has_strains(sc) -> bool:
    """True when the run needs the strain engine: competing worms or hosts behind NAT."""
    return bool(sc.worm.competitors) or sc.internet.nat is not None


def worms_of(sc) -> list:
    """The main worm, then its competitors (index = worm number in the engine)."""
    return [sc.worm, *sc.worm.competitors]


def _shares(sc, worm) -> tuple[float, float, float, float]:
    """(same /8, same /16, anywhere, size of the anywhere region) of one worm."""
    bits = sc.internet.address_bits
    space = float(2**bits)
    scan = worm.scan
    if scan.kind == "uniform":
        return 0.0, 0.0, 1.0, space
    region = space - (len(set(scan.skip_slash8s)) * float(2**24) if bits == 32 else 0.0)
    return scan.same_slash8, scan.same_slash16, scan.anywhere, region


def add_strains(sc, local, pop, pop_rng: np.random.Generator, n_rows: int, dt_s: float):
    """The strain tables on top of a local index built for the main worm (``scan_local``)."""
    worms = worms_of(sc)
    nw = len(worms)
    if nw > MAX_WORMS:
        raise ScenarioError(f"worm.competitors: at most {MAX_WORMS - 1} competing worms, got {nw - 1}")
    n = pop.address.size
    wrates = np.empty((nw, n))
    wrates[0] = pop.probe_rate_per_s
    for w in range(1, nw):
        wrates[w] = draw_probe_rates(worms[w], n, pop_rng)
    nat = nat_mask(pop.address, sc.internet)
    lsh = np.zeros((GROUP_MASK + 1, 2))
    csh = np.zeros(GROUP_MASK + 1)
    for w, worm in enumerate(worms):
        s8, s16, s_any, region = _shares(sc, worm)
        for behind in (0, 1):
            g = 2 * w + behind
            fold = s_any * float(2**24) / region if behind else 0.0  # "anywhere" probes into 10/8
            lsh[g] = (s8 + fold, s16)
            csh[g] = s_any / region
    locg = lsh.max(axis=1) > 0.0
    wmax = wrates.max(axis=1) if n else np.ones(nw)
    rmaxlv = np.array([max(wmax[g >> 1] * lsh[g, lv] for g in range(2 * nw)) for lv in range(2)])
    cures = np.array([w.reboot_cures for w in worms], dtype=np.bool_)
    up = sc.hosts.mean_uptime_h
    reboot_p = -math.expm1(-dt_s / (up * 3600.0)) if up > 0 and cures.any() else 0.0
    natb = -1
    if nat.any():
        natb = int(local.blk[0][np.flatnonzero(nat)[0]])
    return local._replace(
        lsh=lsh, csh=csh, locg=locg, rmaxlv=rmaxlv, cmax=float(csh.max()), strains=True,
        grp=nat.astype(np.uint8), wrates=wrates, wcount=np.zeros(nw, dtype=np.int64),
        wrec=np.zeros((n_rows, 3 * nw), dtype=np.int64), arate=np.zeros(1), cures=cures,
        reboot_p=reboot_p, natb=natb)


def competitor_seeds(sc, n: int, main_seeds: np.ndarray, rng: np.random.Generator):
    """Hosts first infected by each competitor: distinct, none a seed of another worm."""
    counts = [c.initial_infected for c in sc.worm.competitors]
    if not counts:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    if main_seeds.size + sum(counts) > n:
        raise ScenarioError("worm.competitors: the worms' initial_infected add up to more than "
                            f"the {n:,} vulnerable hosts")
    free = np.setdiff1d(np.arange(n), main_seeds)
    hosts = free[rng.choice(free.size, size=sum(counts), replace=False)]
    worm = np.repeat(np.arange(1, len(counts) + 1), counts)
    return hosts.astype(np.int64), worm.astype(np.int64)


@njit(cache=True, inline="always")
def take(h, src_worm, grp, wrates, rate):
    """Host ``h`` (susceptible) is about to be infected by worm ``src_worm``: its group and rate
    become the worm's (the bits of its first infection's worm stay)."""
    old = grp[h]
    grp[h] = (old & 0xF0) | (2 * src_worm) | (old & 1)
    rate[h] = wrates[src_worm, h]


@njit(cache=True, inline="always")
def mark_first(h, grp):
    """The infection just made was the host's first: keep its worm in bits 4-7."""
    g = grp[h]
    grp[h] = 0x80 | (((g >> 1) & 7) << 4) | (g & GROUP_MASK)


@njit(cache=True)
def reboots(rng, k, row, uniform_rate, order, bnd, state, infection, rate, fen, rec, local):
    """Reboots of hosts infected by worms that a reboot cures (the others keep their worm)."""
    n_c = 0
    for w in range(local.wcount.shape[0]):
        if local.cures[w]:
            n_c += local.wcount[w]
    if n_c <= 0:
        return
    n = rng.binomial(n_c, local.reboot_p)
    for _ in range(n):
        while True:  # a uniform infected host of a curable worm (rejection)
            j = bnd[1] + rng.integers(0, bnd[2] - bnd[1])
            if local.cures[(local.grp[order[j]] >> 1) & 7]:
                break
        _leave_infected(order[j], k, uniform_rate, state, infection, rate, fen)
        move_at(j, SUSCEPTIBLE, order, bnd, state, local, rate)
    rec[row, R_REBOOTS] += n


@njit(cache=True)
def snapshot(row, local):
    """Infected hosts per worm at the end of record row ``row``."""
    for w in range(local.wcount.shape[0]):
        local.wrec[row, w] = local.wcount[w]


@njit(cache=True, inline="always")
def accept_anywhere(rng, h, grp, csh, cmax):
    """Turn a source drawn in proportion to rate into one drawn in proportion to its
    "anywhere" rate: accept with probability csh / its maximum."""
    c = csh[grp[h] & GROUP_MASK]
    return c >= cmax or rng.random() * cmax < c


def per_worm(local, worms) -> dict:
    """What the result needs: names, per-row counts and each host's first worm (-1: never)."""
    nw = len(worms)
    grp = local.grp
    first = np.where(grp & 0x80, (grp >> 4) & 7, -1).astype(np.int8)
    return {"names": [w.name for w in worms], "rec": local.wrec, "nw": nw, "first": first}
