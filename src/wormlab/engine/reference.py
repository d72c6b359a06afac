"""A deliberately plain per-probe engine, to prove the fast one exact.

Every probe gets an address and the address is looked up in a table of the whole (small) space;
every host flips its own coins for reboot, patch and going offline. Same scenario semantics and
step order as ``engine/kernel.py``; only for address spaces up to 2^24 and for tests and
validation, never for users' big runs.
"""

from __future__ import annotations

import math
import time

import numpy as np

from wormlab.defenses import reference_hooks as defense_hooks
from wormlab.engine import records, reference_scans, strains
from wormlab.engine.simulate import _seed_streams, _wake_schedule, new_population, step_schedule
from wormlab.errors import WormlabError
from wormlab.scenario import Scenario
from wormlab.worms.rates import draw_probe_rates

MAX_BITS = 24

S, I, P, O = records.SUSCEPTIBLE, records.INFECTED, records.PATCHED, records.OFFLINE


def _aim(sc: Scenario, address: np.ndarray, rng: np.random.Generator | None = None):
    """A function drawing one target address per probe, given the probes' source hosts.

    Static-seed, sequential and hit-list scanning keep state per host (``reference_scans``).
    """
    bits = sc.internet.address_bits
    scan = sc.worm.scan
    if scan.kind in ("static-seed", "sequential"):
        return reference_scans.WalkAim(sc, address, rng)
    if scan.kind == "hitlist":
        return reference_scans.HitlistAim(sc, address, rng)
    return _scan_aim(scan, bits, address)


def _scan_aim(scan, bits: int, address: np.ndarray):
    """Uniform or local-preference aim of one worm's scan (competing worms have one each)."""
    if scan.kind == "uniform":
        return lambda sources, rng: rng.integers(0, 1 << bits, size=sources.size)
    shares = np.array([scan.same_slash8, scan.same_slash16, scan.anywhere])
    shifts = [min(24, bits), min(16, bits)]

    def aim(sources, rng):
        cls = rng.choice(3, size=sources.size, p=shares)
        out = rng.integers(0, 1 << bits, size=sources.size)  # class "anywhere" (no /8 is skipped
        for c, shift in enumerate(shifts):                   # in a space of at most 2^24)
            mine = cls == c
            base = (address[sources[mine]].astype(np.int64) >> shift) << shift
            out[mine] = base + rng.integers(0, 1 << shift, size=int(mine.sum()))
        return out

    return aim


def simulate_reference(sc: Scenario, seed: int = 0):
    """Run scenario ``sc`` probe by probe; returns a Result like ``wormlab.simulate``."""
    from wormlab.result import build_result

    bits = sc.internet.address_bits
    if bits > MAX_BITS:
        raise WormlabError(f"the reference engine needs internet.address_bits <= {MAX_BITS}, got {bits}")
    wall0 = time.perf_counter()
    pop_rng, rng = _seed_streams(seed)
    pop = new_population(sc, pop_rng)  # same hosts and rates as the fast engine for this seed
    n = pop.address.size
    host_at = np.full(1 << bits, -1, dtype=np.int64)
    host_at[pop.address] = np.arange(n)
    state, infection, rate = pop.state, pop.infection, pop.probe_rate_per_s

    n_steps, phase, patch_p = step_schedule(sc)
    dt_s = sc.time.step_s
    steps_per_row = round(sc.time.record_every_s / dt_s)
    rec = np.zeros((-(-n_steps // steps_per_row) + 1, len(records.REC_FIELDS)), dtype=np.int64)

    seeds = np.sort(rng.choice(n, size=sc.worm.initial_infected, replace=False))[::-1]
    # competing worms: each host's worm (-1 none), per-worm rates and aims, per-worm records
    worms = strains.worms_of(sc)
    nw = len(worms)
    hw = np.full(n, -1, dtype=np.int64)
    first_worm = np.full(n, -1, dtype=np.int8)
    hw[seeds] = first_worm[seeds] = 0
    wrates = np.stack([rate] + [draw_probe_rates(c, n, pop_rng) for c in worms[1:]])
    more, more_worm = strains.competitor_seeds(sc, n, seeds, rng)
    hw[more] = first_worm[more] = more_worm
    rate[more] = wrates[more_worm, more]
    wrec = np.zeros((rec.shape[0], 3 * nw), dtype=np.int64)
    wake_step, wake_host, wake_rate = _wake_schedule(sc, seeds, rate, rng)
    seeds = np.concatenate((seeds, more))
    np.add.at(wrec[0], 2 * nw + hw[seeds], 1)
    wrec[0, :nw] = wrec[0, 2 * nw:]
    state[seeds] = I
    infection[seeds, 0] = 0
    rec[0, records.R_S], rec[0, records.R_I], rec[0, records.R_EVER] = n - len(seeds), len(seeds), len(seeds)
    worm_cures = np.array([w.reboot_cures for w in worms])
    cures = sc.hosts.mean_uptime_h > 0 and worm_cures.any()
    reboot_p = -math.expm1(-dt_s / (sc.hosts.mean_uptime_h * 3600.0)) if cures else 0.0
    aim = _aim(sc, pop.address, pop_rng)
    if nw > 1:
        aims = [_scan_aim(w.scan, bits, pop.address) for w in worms]

        def aim(sources, rng):
            out = np.empty(sources.size, dtype=np.int64)
            for w, one in enumerate(aims):
                mine = hw[sources] == w
                out[mine] = one(sources[mine], rng)
            return out
    hook = getattr(aim, "infected", lambda hosts, rng: None)
    hook(seeds, rng)
    saturation = sc.worm.saturation_probes_per_s
    offline_p = -math.expm1(-sc.hosts.offline_rate_per_h * dt_s / 3600.0)
    dz = defense_hooks.arrays(sc, pop)

    woken = 0
    for k in range(n_steps):
        row = rec[k // steps_per_row + 1]
        while woken < wake_step.size and wake_step[woken] <= k:
            rate[wake_host[woken]] = wake_rate[wake_host[woken]]
            woken += 1
        infected = np.flatnonzero(state == I)
        # 1. worm: every probe, one by one
        if phase[k] == records.PHASE_SPREAD and infected.size:
            dt_eff = dt_s
            if saturation > 0:
                dt_eff = dt_s / (1.0 + rate[infected].sum() / saturation)
            if sc.worm.congestion_eta > 0:
                dt_eff *= (1.0 - infected.size / n) ** sc.worm.congestion_eta
            counts = rng.poisson(rate[infected] * dt_eff)
            sources = np.repeat(infected, counts)
            if hasattr(aim, "list_probes"):  # hit-list holders probe their shares first
                sources = aim.list_probes(k, sources, state, infection, row, dz)
            targets = host_at[aim(sources, rng)]
            row[records.R_PROBES] += sources.size
            online = targets >= 0
            online[online] = state[targets[online]] != O
            row[records.R_HITS] += int(online.sum())
            victim = online.copy()
            victim[online] = state[targets[online]] == S
            victim = defense_hooks.thin(k, sources, targets, victim, dz, row)
            order = rng.permutation(np.flatnonzero(victim))  # probes in random order: first one wins
            hit_hosts, first = np.unique(targets[order], return_index=True)
            winners = sources[order[first]]
            state[hit_hosts] = I
            hook(hit_hosts, rng)
            fresh = infection[hit_hosts, 0] < 0
            infection[hit_hosts[fresh], 0] = k + 1
            infection[hit_hosts[fresh], 1] = winners[fresh]
            row[records.R_NEW] += hit_hosts.size
            if nw > 1:  # a new host takes its source's worm, and its rate
                hw[hit_hosts] = hw[winners]
                rate[hit_hosts] = wrates[hw[hit_hosts], hit_hosts]
                first_worm[hit_hosts[fresh]] = hw[hit_hosts[fresh]]
                wrow = wrec[k // steps_per_row + 1]
                wrow[nw:2 * nw] += np.bincount(hw[hit_hosts], minlength=nw)
                wrow[2 * nw:] += np.bincount(hw[hit_hosts[fresh]], minlength=nw)
        # 2. reboots (after the defences' triggers, shutdown and throttling)
        reboot_k = defense_hooks.before_transitions(k, rng, state, infection, rate, dz, reboot_p)
        if reboot_k > 0:
            inf = np.flatnonzero(state == I)
            cured = inf[rng.random(inf.size) < reboot_k]
            if nw > 1:  # competing worms: only the hosts of worms a reboot cures
                cured = cured[worm_cures[hw[cured]]]
            state[cured] = S
            infection[cured, 2] = k + 1
            row[records.R_REBOOTS] += cured.size
        # 3. patching
        if patch_p[k] > 0:
            cand = np.flatnonzero((state == S) | (state == I))
            done = cand[rng.random(cand.size) < patch_p[k]]
            infection[done[state[done] == I], 2] = k + 1
            state[done] = P
            row[records.R_PATCHES] += done.size
        row[records.R_PATCHES] += defense_hooks.patch_campaign(k, rng, state, infection, dz)
        # 4. offline
        if offline_p > 0:
            cand = np.flatnonzero(state != O)
            gone = cand[rng.random(cand.size) < offline_p]
            infection[gone[state[gone] == I], 2] = k + 1
            state[gone] = O
        # 5. flood
        if phase[k] == records.PHASE_FLOOD and sc.worm.flood_packets_per_s > 0:
            n_inf = int((state == I).sum())
            row[records.R_FLOOD] += int(rng.poisson(sc.worm.flood_packets_per_s * dt_s, size=n_inf).sum())
        if (k + 1) % steps_per_row == 0 or k == n_steps - 1:
            row[records.R_S:records.R_O + 1] = np.bincount(state, minlength=4)[:4]
            row[records.R_EVER] = int((infection[:, 0] >= 0).sum())
            if nw > 1:
                wrec[k // steps_per_row + 1, :nw] = np.bincount(hw[state == I], minlength=nw)
    worm_info = None
    if nw > 1:
        worm_info = {"names": [w.name for w in worms], "rec": wrec, "nw": nw, "first": first_worm}
    return build_result(sc, seed, pop, rec, dt_s, steps_per_row, n_steps, time.perf_counter() - wall0,
                        worms=worm_info)
