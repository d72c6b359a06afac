"""Shared set-up of the equivalence tests: small scenarios, ensembles, corrected KS tests.

Not a test module itself (no ``test_`` prefix); imported by ``test_equivalence_*.py``.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from functools import lru_cache

import numpy as np
from scipy import stats

SEEDS = 200
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


def scenario(variant: str):
    from wormlab.scenario import scenario_from_dict

    raw = {k: dict(v) for k, v in SMALL.items() if isinstance(v, dict)}
    raw["name"] = SMALL["name"]
    for key, value in VARIANTS[variant].items():
        raw[key] = value
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
        args = list(args)
        assert args[9] == self._space, "run_steps' signature moved: update _ScaledHits"
        args[9] = self._space / self._scale
        return self._kernel.run_steps(*args)


def _run(args):
    engine, variant, seed, hit_scale = args
    sc = scenario(variant)
    if engine == "fast":
        from wormlab.engine import simulate as fast

        if hit_scale == 1.0:
            return observables(fast.simulate(sc, seed=seed))
        real = fast.kernel
        fast.kernel = _ScaledHits(real, float(2**sc.internet.address_bits), hit_scale)
        try:
            return observables(fast.simulate(sc, seed=seed))
        finally:
            fast.kernel = real
    from wormlab.engine.reference import simulate_reference

    return observables(simulate_reference(sc, seed=seed))


@lru_cache(maxsize=None)
def ensemble(engine: str, variant: str, seeds: range, hit_scale: float = 1.0) -> dict[str, np.ndarray]:
    """Observables of one engine over many seeds, on the machine's two cores (cached per session)."""
    jobs = [(engine, variant, s, hit_scale) for s in seeds]
    with ProcessPoolExecutor(max_workers=2) as pool:
        rows = list(pool.map(_run, jobs, chunksize=25))
    return {k: np.array([r[k] for r in rows]) for k in rows[0]}


def corrected_ks(a: dict[str, np.ndarray], b: dict[str, np.ndarray], n_tests: int) -> dict[str, float]:
    """Two-sample KS p-value of every observable, Bonferroni-corrected for ``n_tests``."""
    out = {}
    for key in a:
        p = stats.ks_2samp(a[key], b[key]).pvalue
        out[key] = min(1.0, p * n_tests)
    return out
