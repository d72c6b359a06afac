"""Evidence that the fast engine is exact: agreement with the per-probe reference and with RCS.

- :func:`engine_equivalence` runs both engines over many seeds of a small scenario (2^16
  addresses, 1,000 hosts; plain scanning, with reboots, with patching) and compares final
  ever-infected, time to half of V and new infections in three rows with two-sample
  Kolmogorov–Smirnov tests, Bonferroni-corrected over all of them.
- ``hit_scale`` ≠ 1 runs a deliberately *broken* fast engine (hits drawn with the wrong
  probability), to show that the same comparison catches a wrong sampler.
- :func:`rcs_agreement` compares the ensemble mean of a 100,000-host outbreak in the whole
  IPv4 space with the Random Constant Spread solution, hour by hour.

Used by ``tests/test_equivalence_*.py`` and by ``wormlab validate --write-docs``.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from functools import cache

import numpy as np

ALPHA = 0.01
# A 2^16 space with 1,000 vulnerable hosts probed at 2/s: K ≈ 0.03 per second, so the outbreak
# takes off within the 5-minute window and reaches most hosts by its end.
SMALL = {
    "name": "equivalence-small",
    "time": {"start": "2001-07-19T10:00:00Z", "end": "2001-07-19T10:05:00Z",
             "step_s": 1.0, "record_every_s": 10.0},
    "internet": {"vulnerable_hosts": 1000, "address_bits": 16},
    "worm": {"probe_rate_per_s": 2.0, "initial_infected": 5},
}
VARIANTS = {
    "plain": {},
    "reboots": {"hosts": {"mean_uptime_h": 0.05}},
    "patching": {"hosts": {"patch_schedule": [{"from": "2001-07-19T10:01:00Z", "rate_per_h": 10.0}]}},
}
ROWS = (9, 15, 21)  # time-series rows (10 s each) whose new infections are compared
OBSERVABLES = ("final_ever_infected", "rows_to_half_of_V") + tuple(f"new_infections_row_{r}" for r in ROWS)
REFERENCE_SEED0 = 10_000  # reference runs use other seeds than fast runs: independent samples


def small_scenario(variant: str):
    from wormlab.scenario import scenario_from_dict

    raw = {k: (dict(v) if isinstance(v, dict) else v) for k, v in SMALL.items()}
    raw.update(VARIANTS[variant])
    return scenario_from_dict(raw, origin=f"equivalence-{variant}")


def observables(res) -> dict[str, float]:
    """What is compared: final ever-infected, time to half of V, new infections in some rows."""
    ts = res.timeseries
    v = res.scenario.internet.vulnerable_hosts
    ever = ts["ever_infected"].to_numpy()
    half = np.flatnonzero(ever >= v / 2)
    t_half = float(half[0]) if half.size else float(len(ever))  # in rows; "never" sorts last
    out = {"final_ever_infected": float(ever[-1]), "rows_to_half_of_V": t_half}
    for row in ROWS:
        out[f"new_infections_row_{row}"] = float(ts["new_infections"].iloc[row])
    return out


class _ScaledHits:
    """Stands in for the kernel module inside ``engine.simulate`` with a deliberately wrong
    hit probability: the address space it is told about is ``1/scale`` of the real one."""

    def __init__(self, kernel, space: float, scale: float):
        self._kernel, self._space, self._scale = kernel, space, scale

    def __getattr__(self, name):
        return getattr(self._kernel, name)

    def run_steps(self, *args):
        # Find the address-space argument by its value, so a reordered signature still works.
        at = [i for i, a in enumerate(args) if isinstance(a, float) and a == self._space]
        if len(at) != 1:
            raise AssertionError("cannot find the address-space argument of kernel.run_steps")
        args = list(args)
        args[at[0]] = self._space / self._scale
        return self._kernel.run_steps(*args)


def _run(args) -> dict[str, float]:
    engine, variant, seed, hit_scale = args
    sc = small_scenario(variant)
    if engine == "reference":
        from wormlab.engine.reference import simulate_reference

        return observables(simulate_reference(sc, seed=seed))
    from wormlab.engine import simulate as fast

    if hit_scale == 1.0:
        return observables(fast.simulate(sc, seed=seed))
    real = fast.kernel
    fast.kernel = _ScaledHits(real, float(2**sc.internet.address_bits), hit_scale)
    try:
        return observables(fast.simulate(sc, seed=seed))
    finally:
        fast.kernel = real


@cache
def ensemble(engine: str, variant: str, seeds: int, hit_scale: float = 1.0,
             workers: int = 2) -> dict[str, np.ndarray]:
    """Observables of one engine over ``seeds`` seeds (cached, so tests can share them)."""
    seed0 = REFERENCE_SEED0 if engine == "reference" else 0
    jobs = [(engine, variant, seed0 + s, hit_scale) for s in range(seeds)]
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            rows = list(pool.map(_run, jobs, chunksize=max(1, seeds // (4 * workers))))
    else:
        rows = [_run(job) for job in jobs]
    return {k: np.array([r[k] for r in rows]) for k in OBSERVABLES}


def engine_equivalence(seeds: int = 200, hit_scale: float = 1.0, variants=None,
                       workers: int = 2) -> list[dict]:
    """KS p-values (raw and Bonferroni-corrected over every variant × observable) per comparison.

    The correction always counts all ``VARIANTS``, so one variant alone is judged the same way.
    """
    from scipy import stats

    n_tests = len(VARIANTS) * len(OBSERVABLES)
    out = []
    for variant in variants or VARIANTS:
        fast = ensemble("fast", variant, seeds, hit_scale, workers)
        ref = ensemble("reference", variant, seeds, 1.0, workers)
        for key in OBSERVABLES:
            p = float(stats.ks_2samp(fast[key], ref[key]).pvalue)
            corrected = min(1.0, p * n_tests)
            out.append({"variant": variant, "observable": key, "p": p, "p_corrected": corrected,
                        "fast_mean": float(fast[key].mean()), "reference_mean": float(ref[key].mean()),
                        "passed": corrected > ALPHA})
    return out


def rcs_agreement(vulnerable_hosts: int = 100_000, initial_infected: int = 100,
                  K_per_hour: float = 1.5, runs: int = 10, hours: int = 12) -> dict:
    """Hourly |ensemble mean − RCS| / V for pure uniform scanning of the whole IPv4 space."""
    from wormlab.engine.simulate import simulate
    from wormlab.models.rcs import half_time_hours, k_per_hour, rcs_fraction
    from wormlab.scenario import scenario_from_dict

    V = vulnerable_hosts
    rate = K_per_hour / k_per_hour(1.0, V)  # probes per second that give K
    sc = scenario_from_dict({
        "name": "rcs-agreement",
        "time": {"start": "2001-07-01T00:00:00Z", "end": f"2001-07-01T{hours:02d}:00:00Z",
                 "step_s": 1.0, "record_every_s": 3600.0},
        "internet": {"vulnerable_hosts": V},
        "worm": {"probe_rate_per_s": rate, "initial_infected": initial_infected},
    })
    ever = np.array([simulate(sc, seed=s).timeseries["ever_infected"].to_numpy()
                     for s in range(runs)], dtype=float)
    t = np.arange(ever.shape[1], dtype=float)
    K = k_per_hour(rate, V)
    model = V * rcs_fraction(t, K, half_time_hours(K, initial_infected / V))
    deviation = np.abs(ever.mean(axis=0) - model) / V
    return {"vulnerable_hosts": V, "K_per_hour": K, "runs": runs, "hours": t.tolist(),
            "mean_ever_infected": ever.mean(axis=0).tolist(), "rcs": model.tolist(),
            "deviation_fraction_of_V": deviation.tolist(),
            "max_deviation_fraction_of_V": float(deviation.max()),
            "final_mean_fraction": float(ever[:, -1].mean() / V)}
