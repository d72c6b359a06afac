"""The fast engine's defences match the per-probe reference in distribution: a path defence
(content filtering, thinning one coin per hit vs one check per probe), an organisation filter, and
host-level ones (global shutdown; a patch campaign by organisation type, binomial-and-thinning vs
one coin per host, alone and sharing its draw with the scheduled patching; ingress filtering with a
reboot campaign). Two-sample KS over 100 seeds each on a 2^16 space, Bonferroni-corrected
p-values must stay above 0.001."""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest
from scipy import stats

SEEDS = 100
ALPHA = 0.001
SMALL = {
    "name": "defense-equivalence",
    "time": {"start": "2001-07-19T10:00:00Z", "end": "2001-07-19T10:05:00Z", "step_s": 1.0, "record_every_s": 10.0},
    "internet": {"vulnerable_hosts": 1000, "address_bits": 16},
    "worm": {"probe_rate_per_s": 2.0, "initial_infected": 5},
}
VARIANTS = {
    "content_filter": [{"kind": "content_filter", "deploy": "top", "top_n": 10, "reaction_s": 60}],
    "egress_and_blacklist": [{"kind": "egress_filter", "org_types": ["isp_customer"], "fraction": 0.5},
                             {"kind": "address_blacklist", "deploy": "customers", "fraction": 0.5, "reaction_s": 30}],
    "shutdown_and_patching": [
        {"kind": "shutdown", "at": "2001-07-19T10:02:00Z", "compliance": 0.7, "duration_s": 60},
        {"kind": "patch_campaign", "rate_per_h": {"isp_customer": 20.0, "bank": 200.0},
         "awareness_rate_per_h": 30.0, "when_infected_above": 50},
    ],
    # ingress filtering (per-target shortcut for unguarded hosts, index ranges per organisation),
    # a reboot campaign and a patch campaign sharing its draw with the scheduled patching
    "ingress_reboots_and_scheduled_patching": [
        {"kind": "ingress_filter", "org_types": ["isp_customer", "enterprise"], "fraction": 0.6},
        {"kind": "reboot_campaign", "rate_per_h": 40.0, "when_infected_above": 30},
        {"kind": "patch_campaign", "rate_per_h": {"enterprise": 60.0}, "default_rate_per_h": 5.0,
         "at": "2001-07-19T10:01:00Z"},
    ],
}
HOSTS = {"ingress_reboots_and_scheduled_patching": {
    "mean_uptime_h": 0.5, "patch_schedule": [{"from": "2001-07-19T10:00:00Z", "rate_per_h": 10.0}]}}


def _observe(args):
    engine, variant, seed = args
    from wormlab.engine.reference import simulate_reference
    from wormlab.engine.simulate import simulate
    from wormlab.scenario import scenario_from_dict

    sc = scenario_from_dict({**SMALL, "defenses": VARIANTS[variant], "hosts": HOSTS.get(variant, {})},
                            origin=variant)
    res = (simulate if engine == "fast" else simulate_reference)(sc, seed=seed)
    ts = res.timeseries
    return [ts["ever_infected"].iloc[-1], ts["infected"].iloc[-1], ts["hits_blocked"].sum(),
            ts["patches"].sum(), ts["infected"].iloc[15]]


@pytest.fixture(scope="module")
def pool():
    with ProcessPoolExecutor(max_workers=2) as ex:
        yield ex


def ensemble(pool, engine, variant, seeds):
    return np.array(list(pool.map(_observe, [(engine, variant, s) for s in seeds], chunksize=10)))


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_fast_defences_match_the_per_probe_reference(pool, variant):
    fast = ensemble(pool, "fast", variant, range(SEEDS))
    ref = ensemble(pool, "reference", variant, range(10_000, 10_000 + SEEDS))
    n_tests = fast.shape[1] * len(VARIANTS)
    bad = {}
    for col in range(fast.shape[1]):
        if np.ptp(fast[:, col]) == 0 and np.ptp(ref[:, col]) == 0:
            assert fast[0, col] == ref[0, col]
            continue
        p = min(1.0, stats.ks_2samp(fast[:, col], ref[:, col]).pvalue * n_tests)
        if p <= ALPHA:
            bad[col] = p
    assert not bad, f"{variant}: engines disagree (column: corrected p) {bad}"
    assert fast[:, 0].mean() < 1000  # the defence did something
