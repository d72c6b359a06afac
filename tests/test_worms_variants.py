"""Worm variants with their own scan paths: static seed (Code Red v1), sequential (Blaster),
hit-list plus permutation (Warhol) and the flash worm. Exactness against the per-probe engine
(KS tests, fixed seeds), and the behaviour each variant is known for."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from wormlab.engine.reference import simulate_reference
from wormlab.engine.simulate import simulate
from wormlab.errors import ScenarioError
from wormlab.history.validate import V1_END, linear_fit
from wormlab.scenario import load_scenario, scenario_from_dict

BASE = {
    "name": "variant-test",
    "time": {"start": "2001-07-19T10:00:00Z", "end": "2001-07-19T10:02:00Z", "step_s": 1.0,
             "record_every_s": 10.0},
    "internet": {"vulnerable_hosts": 5000, "address_bits": 18},
    "worm": {"probe_rate_per_s": 5.0, "initial_infected": 3},
}


def make(worm=None, hosts=None, internet=None):
    raw = copy.deepcopy(BASE)
    raw["worm"].update(worm or {})
    raw["internet"].update(internet or {})
    if hosts:
        raw["hosts"] = hosts
    return scenario_from_dict(raw, origin="test")


def _compare(sc, seeds=40, rows=(4, 8, -1), column="ever_infected"):
    """KS test of ``column`` at a few rows, fast engine against the per-probe one (Bonferroni)."""
    fast = [simulate(sc, seed=s).timeseries for s in range(seeds)]
    slow = [simulate_reference(sc, seed=10_000 + s).timeseries for s in range(seeds)]
    pvals = []
    for row in rows:
        a = [t[column].iloc[row] for t in fast]
        b = [t[column].iloc[row] for t in slow]
        assert np.std(a) > 0 or np.std(b) > 0
        pvals.append(stats.ks_2samp(a, b).pvalue)
    assert min(pvals) > 0.001 / len(rows), pvals
    return fast, slow


def test_static_seed_with_reboots_matches_the_per_probe_engine():
    # Reboots every ~36 s: walkers are cured and restart from the top of the sequence, and
    # trailing walkers re-infect cured hosts behind the frontier.
    sc = make(worm={"scan": "static-seed", "probe_rate_per_s": 20.0, "initial_infected": 5},
              hosts={"mean_uptime_h": 0.01})
    fast, _ = _compare(sc)
    reinfections = [t["new_infections"].sum() - (t["ever_infected"].iloc[-1] - 5) for t in fast]
    assert np.mean(reinfections) > 1  # cured hosts found again by trailing walkers
    _compare(sc, rows=(4, 8, -1), column="infected")


def test_sequential_matches_the_per_probe_engine():
    sc = make(worm={"scan": {"kind": "sequential", "local_start_share": 0.5}, "probe_rate_per_s": 1.0})
    _compare(sc)


def test_hitlist_and_permutation_match_the_per_probe_engine():
    sc = make(worm={"scan": {"kind": "hitlist", "hitlist_size": 200}, "probe_rate_per_s": 1.0,
                    "initial_infected": 2},
              internet={"vulnerable_hosts": 3000, "address_bits": 20})
    _compare(sc, rows=(1, 3, 6, -1))


def test_static_seed_only_the_frontier_finds_new_hosts():
    # Without reboots every walker is behind the first one: one new host per V / 2^bits probes
    # of the frontier, whatever the number of infected hosts (near-linear growth).
    sc = make(worm={"scan": "static-seed", "probe_rate_per_s": 20.0, "initial_infected": 1},
              internet={"vulnerable_hosts": 5000, "address_bits": 18})
    sc = sc.with_overrides({"time.end": "2001-07-19T10:10:00Z"})
    finals = [simulate(sc, seed=s).timeseries["ever_infected"].iloc[-1] - 1 for s in range(20)]
    expected = 20.0 * 600 * 5000 / 2**18  # frontier probes * density = 229
    assert abs(np.mean(finals) - expected) < 0.1 * expected


def test_code_red_v1_grows_near_linearly_not_exponentially():
    res = simulate(load_scenario("codered-v1-2001-07-12"), seed=1)
    slope, sse_ratio = linear_fit(res, V1_END)  # (the check ``wormlab validate`` runs)
    assert sse_ratio < 0.1, sse_ratio
    # slow: about 4.3 * 400,000 / 2^32 = 1.44 hosts per hour from the frontier (±30%)
    assert 1.0 < slope < 1.9
    assert res.timeseries["ever_infected"].iloc[-1] < 1000


@pytest.fixture(scope="module")
def warhol():
    return simulate(load_scenario("warhol-hypothetical"), seed=1)


def test_warhol_infects_most_hosts_within_15_minutes(warhol):
    ts = warhol.timeseries
    def at(m):
        return ts.loc[ts["time"] <= pd.Timestamp("2002-08-01T00:00:00Z") + pd.Timedelta(minutes=m),
                              "ever_infected"].iloc[-1]
    assert at(15) >= 0.9 * 300_000
    assert at(5) < 0.9 * 300_000  # not instant: the permutation phase takes minutes
    assert ts["ever_infected"].iloc[1] >= 1000  # the hit-list is done within the first 10 s


def test_warhol_beats_uniform_scanning_at_the_same_rate(warhol):
    uniform = load_scenario("warhol-hypothetical", overrides=[
        'worm.scan="uniform"', "worm.initial_infected=10", "time.end=2002-08-01T00:15:00Z"])
    ts = simulate(uniform, seed=1).timeseries
    assert ts["ever_infected"].iloc[-1] < 0.5 * 300_000


def test_flash_worm_is_faster_still(warhol):
    ts = simulate(load_scenario("flash-hypothetical"), seed=1).timeseries
    t_s = (ts["time"] - ts["time"].iloc[0]).dt.total_seconds()
    t99_flash = t_s[ts["ever_infected"] >= 0.99 * 300_000].iloc[0]
    w = warhol.timeseries
    t99_warhol = ((w["time"] - w["time"].iloc[0]).dt.total_seconds())[w["ever_infected"] >= 0.99 * 300_000].iloc[0]
    assert t99_flash <= 30 and t99_flash < t99_warhol / 10


@pytest.mark.parametrize("scan, key, words", [
    ({"kind": "hitlist", "hitlist_size": 6000}, "worm.scan.hitlist_size", "more than the 5,000"),
    ({"kind": "hitlist", "hitlist_size": -1}, "worm.scan.hitlist", "greater than or equal to 0"),
    ({"kind": "sequential", "local_start_share": 1.5}, "worm.scan.sequential.local_start_share", "less than"),
    ({"kind": "static-seed", "seed": 3}, "worm.scan.static-seed.seed", "unknown key"),
])
def test_bad_variant_settings_name_the_key(scan, key, words):
    with pytest.raises(ScenarioError) as err:
        make(worm={"scan": scan})
    msg = str(err.value)
    assert key in msg and words in msg and "\n" not in msg
