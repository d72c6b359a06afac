"""Turn a Scenario and a seed into a Result: set up host arrays, run the kernel, collect rows.

One seed makes one run bit for bit: a ``SeedSequence(seed)`` spawns one stream for placing hosts
and one for the dynamics, each a NumPy ``Generator`` that the compiled kernel draws from.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from wormlab.defenses.plan import plan_defenses
from wormlab.engine import kernel, records, strains
from wormlab.engine.fenwick import fen_add
from wormlab.engine.scan_events import build_scan
from wormlab.engine.scan_local import build_local_index, no_local
from wormlab.engine.strains import has_strains
from wormlab.internet.address_space import place_hosts
from wormlab.scenario import Scenario
from wormlab.worms.rates import draw_probe_rates, rates_are_uniform

ProgressFn = Callable[[int, int], None]
CHUNK_STEPS = 3600  # kernel calls between progress updates


@dataclass
class Population:
    """Per-host state, one NumPy array per field (index = position in the sorted address array)."""

    address: np.ndarray  # uint32, sorted
    state: np.ndarray  # uint8: records.SUSCEPTIBLE .. OFFLINE
    infection: np.ndarray  # int32 (n, 3): step first infected (-1 never), infecting host (-1), step last cured (-1)
    probe_rate_per_s: np.ndarray  # float64


def step_schedule(sc: Scenario) -> tuple[int, np.ndarray, np.ndarray]:
    """Number of steps, the calendar phase of each step and its patch probability."""
    tw = sc.time
    n_steps = round(tw.duration_s / tw.step_s)
    start_epoch = tw.start.timestamp()
    t_s = np.arange(n_steps, dtype=np.float64) * tw.step_s
    day = np.floor((start_epoch + t_s) / 86400.0).astype(np.int64)  # days since 1970
    # the calendar is by UTC day of month: work it out once per distinct day, not per step
    first_day = int(day[0]) if n_steps else 0
    days = np.arange(first_day, int(day[-1]) + 1 if n_steps else first_day).astype("datetime64[D]")
    day_of_month = (days - days.astype("datetime64[M]")).astype(np.int64) + 1
    phase_of_day = np.zeros(32, dtype=np.int8)
    codes = {"sleep": records.PHASE_SLEEP, "spread": records.PHASE_SPREAD, "flood": records.PHASE_FLOOD}
    for ph in sc.worm.calendar:
        phase_of_day[ph.days[0] : ph.days[1] + 1] = codes[ph.action]
    phase = phase_of_day[day_of_month][day - first_day]
    rate_per_h = np.zeros(n_steps)
    for entry in sc.hosts.patch_schedule:
        rate_per_h[t_s >= (entry.start - tw.start).total_seconds()] = entry.rate_per_h
    patch_p = -np.expm1(-rate_per_h * tw.step_s / 3600.0)
    return n_steps, phase, patch_p


def _seed_streams(seed: int) -> tuple[np.random.Generator, np.random.Generator]:
    pop_ss, dyn_ss = np.random.SeedSequence(seed).spawn(2)
    return np.random.default_rng(pop_ss), np.random.default_rng(dyn_ss)


def new_population(sc: Scenario, rng: np.random.Generator) -> Population:
    address = place_hosts(sc.internet, rng)
    n = address.size
    return Population(
        address=address,
        state=np.zeros(n, dtype=np.uint8),
        infection=np.full((n, 3), -1, dtype=np.int32),
        probe_rate_per_s=draw_probe_rates(sc.worm, n, rng),
    )


def simulate(sc: Scenario, seed: int = 0, progress: ProgressFn | None = None):
    """Run one outbreak of scenario ``sc`` with ``seed``; returns a :class:`wormlab.result.Result`."""
    from wormlab.result import build_result

    if not isinstance(seed, (int, np.integer)) or seed < 0:
        from wormlab.errors import WormlabError

        raise WormlabError(f"seed must be a non-negative integer, got {seed!r}")
    wall0 = time.perf_counter()
    pop_rng, rng = _seed_streams(int(seed))
    pop = new_population(sc, pop_rng)
    n = pop.address.size
    n_steps, phase, patch_p = step_schedule(sc)
    dt_s = sc.time.step_s
    steps_per_row = round(sc.time.record_every_s / dt_s)
    n_rows = -(-n_steps // steps_per_row) + 1

    order = np.arange(n, dtype=np.int32)
    bnd = np.array([0, n, n, n, n], dtype=np.int64)
    rec = np.zeros((n_rows, len(records.REC_FIELDS)), dtype=np.int64)
    ever = np.zeros(1, dtype=np.int64)

    rates = pop.probe_rate_per_s
    multi = has_strains(sc)  # competing worms or hosts behind NAT (engine/strains.py)
    uniform = rates_are_uniform(sc.worm) and not sc.worm.competitors
    uniform_rate = float(rates[0]) if n and uniform else 0.0
    fen = np.zeros(1 if uniform else n + 1)
    local = _local_index(sc, pop)
    scan, local = build_scan(sc, pop.address, pop_rng, local)
    if multi:
        local = strains.add_strains(sc, local, pop, pop_rng, n_rows, dt_s)
    seeds = np.sort(rng.choice(n, size=sc.worm.initial_infected, replace=False))[::-1]
    seed_worm = np.zeros(seeds.size, dtype=np.int64)
    if sc.worm.competitors:  # their first hosts, among the others
        more, more_worm = strains.competitor_seeds(sc, n, seeds, rng)
        by_host = np.argsort(np.concatenate((seeds, more)))[::-1]
        seeds, seed_worm = np.concatenate((seeds, more))[by_host], np.concatenate((seed_worm, more_worm))[by_host]
    wake_step, wake_host, wake_rate = _wake_schedule(sc, seeds[seed_worm == 0], rates, rng)
    for h, w in zip(seeds, seed_worm):  # order is the identity: host h sits at position h (high to low is safe)
        if w > 0:  # a competitor's first host scans at that worm's rate
            local.grp[h] = 2 * w | (local.grp[h] & 1)
            rates[h] = local.wrates[w, h]
        kernel.infect_at(int(h), 0, -1, order, bnd, pop.state, pop.infection, local, rates)
        if multi:
            local.grp[h] |= 0x80 | (w << 4)
            local.wrec[0, 2 * local.wcount.size + w] += 1
        if not uniform:
            fen_add(fen, int(h), rates[h])
    if multi:
        local.wrec[0, : local.wcount.size] = local.wcount
    ever[0] = len(seeds)
    rec[0, records.R_S], rec[0, records.R_I] = n - len(seeds), len(seeds)
    rec[0, records.R_EVER] = len(seeds)

    cures = sc.hosts.mean_uptime_h > 0 and sc.worm.reboot_cures
    reboot_p = -math.expm1(-dt_s / (sc.hosts.mean_uptime_h * 3600.0)) if cures else 0.0
    if multi:
        reboot_p = 0.0  # reboots per worm: strains.reboots with local.reboot_p
    offline_p = -math.expm1(-sc.hosts.offline_rate_per_h * dt_s / 3600.0)
    space = float(2 ** sc.internet.address_bits)
    defense, uniform_rate, fen = plan_defenses(sc, pop.infection, ever, uniform_rate, fen, rates, pop.state)
    wake_next = np.zeros(1, dtype=np.int64)
    for k0 in range(0, n_steps, CHUNK_STEPS):
        k1 = min(n_steps, k0 + CHUNK_STEPS)
        kernel.run_steps(rng, k0, k1, dt_s, phase, patch_p, reboot_p, offline_p,
                         sc.worm.flood_packets_per_s, space, steps_per_row, uniform_rate, order, bnd,
                         pop.state, pop.infection, rates, fen, rec, ever, defense, local,
                         sc.worm.saturation_probes_per_s, wake_step, wake_host, wake_rate, wake_next,
                         scan, sc.worm.congestion_eta)
        if progress is not None:
            progress(k1, n_steps)
    if n_steps % steps_per_row:  # last partial row still gets its snapshot
        last = rec[-1]
        last[records.R_S], last[records.R_I] = bnd[1] - bnd[0], bnd[2] - bnd[1]
        last[records.R_P], last[records.R_O] = bnd[3] - bnd[2], bnd[4] - bnd[3]
        last[records.R_EVER] = ever[0]
        if multi:
            local.wrec[-1, : local.wcount.size] = local.wcount
    wall = time.perf_counter() - wall0
    worms = strains.per_worm(local, strains.worms_of(sc)) if sc.worm.competitors else None
    return build_result(sc, int(seed), pop, rec, dt_s, steps_per_row, n_steps, wall, worms=worms)


def _local_index(sc: Scenario, pop: Population):
    """The per-block index of local-preference scanning (and of every run with strains), or an
    inactive one."""
    scan = sc.worm.scan
    bits = sc.internet.address_bits
    if scan.kind != "local-preference":
        if not has_strains(sc):
            return no_local()
        return build_local_index(pop.address, pop.probe_rate_per_s, bits, (0.0, 0.0, 1.0), float(2**bits))
    region_any = float(2**bits)
    if bits == 32:
        region_any -= len(set(scan.skip_slash8s)) * float(2**24)
    return build_local_index(pop.address, pop.probe_rate_per_s, bits,
                             (scan.same_slash8, scan.same_slash16, scan.anywhere), region_any)


def _wake_schedule(sc: Scenario, seeds: np.ndarray, rates: np.ndarray, rng: np.random.Generator):
    """When the initially infected hosts start scanning (all at once unless initial_wake_hours).

    A sleeping seed scans at rate 0 until its step; the kernel then gives it ``wake_rate``.
    """
    wake_rate = np.zeros(0)
    if sc.worm.initial_wake_hours is None or seeds.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), wake_rate
    low, high = sc.worm.initial_wake_hours
    steps = np.floor(rng.uniform(low, high, size=seeds.size) * 3600.0 / sc.time.step_s).astype(np.int64)
    by_time = np.argsort(steps, kind="stable")
    wake_rate = rates.copy()
    rates[seeds] = 0.0
    return steps[by_time], seeds[by_time].astype(np.int64), wake_rate


def warm_up() -> float:
    """Compile (or load from cache) the kernel on a tiny run; returns the seconds it took."""
    from wormlab.scenario import scenario_from_dict

    t0 = time.perf_counter()
    tiny = scenario_from_dict(
        {
            "name": "warm-up",
            "time": {"start": "2001-07-19T00:00:00Z", "end": "2001-07-19T00:02:00Z"},
            "internet": {"vulnerable_hosts": 100, "address_bits": 16},
            "worm": {"probe_rate_per_s": 10.0, "initial_infected": 2},
            "hosts": {"mean_uptime_h": 1.0, "offline_rate_per_h": 0.1,
                      "patch_schedule": [{"from": "2001-07-19T00:00:00Z", "rate_per_h": 0.1}]},
        }
    )
    simulate(tiny, seed=0)
    return time.perf_counter() - t0
