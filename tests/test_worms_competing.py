"""Competing worms in one population (issue 4, item 5): exact against the per-probe engine, the
rules of competition, per-worm results and bad input."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from scipy import stats

from wormlab.engine.reference import simulate_reference
from wormlab.engine.simulate import simulate
from wormlab.errors import ScenarioError
from wormlab.scenario import load_scenario, scenario_from_dict

BASE = {
    "name": "competing-test",
    "time": {"start": "2001-08-04T00:00:00Z", "end": "2001-08-04T00:02:00Z", "step_s": 1.0,
             "record_every_s": 10.0},
    "internet": {"vulnerable_hosts": 5000, "address_bits": 18},
    "worm": {"name": "local", "probe_rate_per_s": 5.0, "initial_infected": 3, "reboot_cures": False,
             "rate_classes": [{"share": 0.7, "multiplier": 1.0}, {"share": 0.3, "multiplier": 2.0}],
             "scan": {"kind": "local-preference", "same_slash8": 0.3, "same_slash16": 0.6, "anywhere": 0.1},
             "competitors": [{"name": "uni", "scan": "uniform", "probe_rate_per_s": 8.0,
                              "initial_infected": 3, "reboot_cures": True}]},
}


def make(worm=None, hosts=None, competitor=None):
    raw = copy.deepcopy(BASE)
    raw["worm"].update(worm or {})
    if competitor is not None:
        raw["worm"]["competitors"][0].update(competitor)
    if hosts:
        raw["hosts"] = hosts
    return scenario_from_dict(raw, origin="test")


COLUMNS = ("ever_infected", "ever_infected_local", "ever_infected_uni", "infected_local", "infected_uni")


def test_competing_worms_match_the_per_probe_engine():
    # reboots about every 36 s cure only the uniform worm's hosts; patching takes either
    sc = make(hosts={"mean_uptime_h": 0.01,
                     "patch_schedule": [{"from": "2001-08-04T00:00:30Z", "rate_per_h": 20.0}]})
    seeds = 50
    fast = [simulate(sc, seed=s).timeseries for s in range(seeds)]
    slow = [simulate_reference(sc, seed=10_000 + s).timeseries for s in range(seeds)]
    pvals = {}
    for col in COLUMNS:
        for row in (4, 8, -1):
            a = [t[col].iloc[row] for t in fast]
            b = [t[col].iloc[row] for t in slow]
            assert np.std(a) > 0 or np.std(b) > 0, (col, row)
            pvals[col, row] = stats.ks_2samp(a, b).pvalue
    # Bonferroni over the 15 comparisons, family-wise 0.001
    assert min(pvals.values()) > 0.001 / len(pvals), pvals
    assert sum(t["reboots"].sum() for t in fast) > 0 and sum(t["patches"].sum() for t in fast) > 0


def test_a_host_held_by_one_worm_is_not_taken_by_the_other():
    # no cure at all: every host is infected at most once, by one worm, which is its infector's
    sc = make(competitor={"reboot_cures": False}, worm={"initial_infected": 5})
    sc = sc.with_overrides({"time.end": "2001-08-04T00:04:00Z"})
    for seed in range(3):
        res = simulate(sc, seed=seed)
        ts, hosts = res.timeseries, res.hosts
        assert (ts["infected_local"] + ts["infected_uni"] == ts["infected"]).all()
        assert (ts["ever_infected_local"] + ts["ever_infected_uni"] == ts["ever_infected"]).all()
        new = ts["new_infections_local"] + ts["new_infections_uni"]
        assert (new == ts["new_infections"]).all()
        assert ts["new_infections"].sum() + 8 == ts["ever_infected"].iloc[-1]  # nobody twice (8 seeds)
        assert ts["infected"].max() <= sc.internet.vulnerable_hosts
        child = hosts[hosts["infected_by"] >= 0]
        parent_worm = hosts["worm"].to_numpy()[child["infected_by"].to_numpy()]
        assert (child["worm"].to_numpy() == parent_worm).all()
        assert set(hosts.loc[hosts["infected_at"].notna(), "worm"]) == {"local", "uni"}
        assert res.summary["worms"]["uni"]["ever_infected"] == ts["ever_infected_uni"].iloc[-1]


def test_a_worm_switched_off_leaves_the_single_worm_run_in_distribution():
    # a competitor scanning at 1e-9 probes/s holds its 3 hosts and nothing else
    off = make(competitor={"probe_rate_per_s": 1e-9})
    single_raw = copy.deepcopy(BASE)
    del single_raw["worm"]["competitors"]
    single_raw["internet"]["vulnerable_hosts"] = 4997  # the same hosts open to the main worm
    single = scenario_from_dict(single_raw, origin="test")
    a = [simulate(off, seed=s).timeseries for s in range(60)]
    b = [simulate(single, seed=100 + s).timeseries for s in range(60)]
    assert all(t["ever_infected_uni"].iloc[-1] == 3 for t in a)
    pvals = [stats.ks_2samp([t["ever_infected_local"].iloc[r] for t in a],
                            [t["ever_infected"].iloc[r] for t in b]).pvalue for r in (4, 8, -1)]
    assert min(pvals) > 0.001 / 3, pvals


def test_the_shipped_scenario_runs_with_per_worm_results():
    sc = load_scenario("codered-ii-vs-codered-i", overrides=["time.end=2001-08-04T00:30:00Z"])
    res = simulate(sc, seed=1)
    for col in ("infected_codered_ii", "new_infections_codered_v2", "ever_infected_codered_v2"):
        assert col in res.timeseries
    assert set(res.summary["worms"]) == {"codered-ii", "codered-v2"}
    assert res.summary["ever_infected"] == sum(w["ever_infected"] for w in res.summary["worms"].values())
    assert "hourly" in res.summary and "wall_seconds" in res.summary  # nothing taken away


@pytest.mark.parametrize("worm, key, words", [
    ({"competitors": [{"name": "x", "probe_rate_per_s": 1.0, "scan": {"kind": "hitlist"}}]},
     "worm.competitors[0].scan", "does not match"),
    ({"competitors": [{"name": "local", "probe_rate_per_s": 1.0}]}, "worm", "competitors: worm names must differ"),
    ({"competitors": [{"name": "x", "probe_rate_per_s": 0.0}]}, "worm.competitors[0].probe_rate_per_s", "greater than 0"),
    ({"competitors": [{"name": "x", "probe_rate_per_s": 1.0, "threads": 3}]}, "worm.competitors[0].threads", "unknown key"),
    ({"scan": "static-seed"}, "worm", "scan: competing worms need"),
])
def test_bad_competitor_settings_name_the_key(worm, key, words):
    raw = copy.deepcopy(BASE)
    raw["worm"].update(worm)
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict(raw, origin="test")
    assert key in str(err.value) and words in str(err.value), str(err.value)
    assert "\n" not in str(err.value)
