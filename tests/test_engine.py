"""The engine: determinism, the calendar, reboot/patch/offline transitions, the infection tree and
the exactness of the hit sampler (against its closed form and against the per-probe engine)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from tests.conftest import tiny_dict
from wormlab.engine.reference import simulate_reference
from wormlab.engine.simulate import simulate
from wormlab.scenario import scenario_from_dict


def make(**sections):
    return scenario_from_dict(tiny_dict(**sections), origin="test")


def test_same_seed_gives_identical_tables_and_different_seeds_differ():
    sc = make()
    a, b, c = simulate(sc, seed=11), simulate(sc, seed=11), simulate(sc, seed=12)
    pd.testing.assert_frame_equal(a.timeseries, b.timeseries)
    pd.testing.assert_frame_equal(a.hosts, b.hosts)
    assert {k: v for k, v in a.summary.items() if k != "wall_seconds"} == \
        {k: v for k, v in b.summary.items() if k != "wall_seconds"}
    assert not a.timeseries["ever_infected"].equals(c.timeseries["ever_infected"])


def test_no_spreading_on_day_20_and_the_flood_starts_at_midnight():
    sc = make(time={"start": "2001-07-19T23:00:00Z", "end": "2001-07-20T01:00:00Z"},
              worm={"initial_infected": 300, "probe_rate_per_s": 2.0, "flood_packets_per_s": 5.0})
    res = simulate(sc, seed=3)
    ts = res.timeseries
    before = ts[ts["time"] <= pd.Timestamp("2001-07-20T00:00:00Z")]
    after = ts[ts["time"] > pd.Timestamp("2001-07-20T00:00:00Z")]
    assert before["new_infections"].sum() > 0 and before["probes_sent"].sum() > 0
    assert after["new_infections"].sum() == 0
    assert after["probes_sent"].sum() == 0
    assert before["flood_packets_to_target"].sum() == 0
    # Flood: Poisson(I * 5 packets/s * 60 s) per minute; compare the total with its mean.
    expected = (after["infected"].shift(1).fillna(after["infected"].iloc[0]) * 5.0 * 60).sum()
    assert abs(after["flood_packets_to_target"].sum() - expected) < 6 * math.sqrt(expected) + 0.01 * expected
    assert res.summary["new_infections_after_flood_start"] == 0


def test_sleep_phase_neither_spreads_nor_floods():
    sc = make(time={"start": "2001-07-28T10:00:00Z", "end": "2001-07-28T10:30:00Z"},
              worm={"initial_infected": 100, "flood_packets_per_s": 5.0})
    ts = simulate(sc, seed=1).timeseries
    assert ts[["new_infections", "probes_sent", "flood_packets_to_target"]].to_numpy().sum() == 0


def test_calendar_is_scenario_data():
    sc = make(time={"start": "2001-07-20T10:00:00Z", "end": "2001-07-20T10:30:00Z"},
              worm={"calendar": [{"days": [1, 31], "action": "spread"}]})
    assert simulate(sc, seed=1).timeseries["new_infections"].sum() > 0


def test_reboots_cure_infected_hosts_at_the_rate_of_their_uptime():
    # Day 20: no spreading, so only reboots change state. Mean uptime 1 h over 1 h: e^-1 remain.
    v = 3000
    sc = make(time={"start": "2001-07-20T10:00:00Z", "end": "2001-07-20T11:00:00Z"},
              worm={"initial_infected": v}, hosts={"mean_uptime_h": 1.0})
    res = simulate(sc, seed=5)
    left = res.timeseries["infected"].iloc[-1]
    p = math.exp(-1.0)
    assert abs(left - v * p) < 5 * math.sqrt(v * p * (1 - p))
    cured = res.hosts[res.hosts["state"] == "susceptible"]
    assert len(cured) == v - left
    assert cured["last_cured_at"].notna().all()
    assert res.timeseries["reboots"].sum() == v - left


def test_patching_takes_susceptible_and_infected_hosts():
    v = 3000
    sc = make(time={"start": "2001-07-28T10:00:00Z", "end": "2001-07-28T11:00:00Z"},
              worm={"initial_infected": 1000},
              hosts={"patch_schedule": [{"from": "2001-07-28T10:00:00Z", "rate_per_h": 1.0}]})
    res = simulate(sc, seed=9)
    hosts = res.hosts
    patched = hosts["state"] == "patched"
    p = 1 - math.exp(-1.0)
    assert abs(patched.sum() - v * p) < 5 * math.sqrt(v * p * (1 - p))
    was_infected = hosts["infected_at"].notna()
    assert (patched & was_infected).sum() > 500 and (patched & ~was_infected).sum() > 1000
    assert hosts.loc[patched & was_infected, "last_cured_at"].notna().all()


def test_patch_schedule_is_piecewise_constant():
    sc = make(time={"start": "2001-07-28T10:00:00Z", "end": "2001-07-28T12:00:00Z"},
              hosts={"patch_schedule": [{"from": "2001-07-28T11:00:00Z", "rate_per_h": 2.0}]})
    ts = simulate(sc, seed=2).timeseries
    assert ts.loc[ts["time"] <= pd.Timestamp("2001-07-28T11:00:00Z"), "patches"].sum() == 0
    assert ts["patches"].sum() > 1000


def test_hosts_go_offline_and_stop_being_targets():
    sc = make(time={"start": "2001-07-28T10:00:00Z", "end": "2001-07-28T11:00:00Z"},
              hosts={"offline_rate_per_h": 0.5})
    ts = simulate(sc, seed=4).timeseries
    p = 1 - math.exp(-0.5)
    assert abs(ts["offline"].iloc[-1] - 3000 * p) < 5 * math.sqrt(3000 * p * (1 - p))
    assert (ts[["susceptible", "infected", "patched", "offline"]].sum(axis=1) == 3000).all()


def test_infection_tree_points_to_earlier_infected_hosts():
    res = simulate(make(), seed=8)
    hosts = res.hosts
    infected = hosts[hosts["infected_at"].notna()]
    seeds = infected[infected["infected_by"] < 0]
    assert len(seeds) == 5 and (seeds["infected_at"] == pd.Timestamp("2001-07-19T10:00:00Z")).all()
    children = infected[infected["infected_by"] >= 0]
    assert len(children) > 100
    parent_time = hosts["infected_at"].to_numpy()[children["infected_by"].to_numpy()]
    assert (parent_time < children["infected_at"].to_numpy()).all()


def test_one_step_infections_match_the_closed_form():
    """Each susceptible host is hit by Poisson(I r dt / N) probes: Binomial(S, 1 - e^(-I r dt/N))."""
    i0, rate, n_space, v = 500, 20.0, 2**16, 4000
    sc = make(time={"start": "2001-07-19T10:00:00Z", "end": "2001-07-19T10:00:01Z", "record_every_s": 1.0},
              internet={"vulnerable_hosts": v, "address_bits": 16},
              worm={"initial_infected": i0, "probe_rate_per_s": rate})
    new = np.array([simulate(sc, seed=s).timeseries["new_infections"].iloc[-1] for s in range(400)])
    s = v - i0
    p = -math.expm1(-i0 * rate / n_space)
    dist = stats.binom(s, p)
    assert abs(new.mean() - dist.mean()) < 4 * dist.std() / math.sqrt(new.size)
    assert 0.8 < new.var() / dist.var() < 1.25
    # chi-square goodness of fit on bins (-inf, e0], (e0, e1], ..., (e_last, inf)
    edges = np.unique(dist.ppf(np.linspace(0, 1, 9)[1:-1]))
    cdf = np.concatenate(([0.0], dist.cdf(edges), [1.0]))
    observed = np.bincount(np.searchsorted(edges, new, side="left"), minlength=len(edges) + 1)
    expected = np.diff(cdf) * new.size
    assert stats.chisquare(observed, expected).pvalue > 0.001


@pytest.mark.parametrize("hosts", [{}, {"mean_uptime_h": 0.1}])
def test_fast_engine_agrees_with_the_per_probe_engine(hosts):
    sc = make(time={"start": "2001-07-19T10:00:00Z", "end": "2001-07-19T10:10:00Z"},
              internet={"vulnerable_hosts": 1000, "address_bits": 16},
              worm={"initial_infected": 5, "probe_rate_per_s": 1.5}, hosts=hosts)
    fast = [simulate(sc, seed=s).timeseries["ever_infected"].iloc[-1] for s in range(60)]
    slow = [simulate_reference(sc, seed=1000 + s).timeseries["ever_infected"].iloc[-1] for s in range(60)]
    assert stats.ks_2samp(fast, slow).pvalue > 0.001
    assert np.std(fast) > 0
