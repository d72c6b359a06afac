"""Hosts behind NAT (issue 4, item 2): the hotspot effect of local preference, and no way in
from the public Internet."""

from __future__ import annotations

import numpy as np
import pytest

from wormlab.engine.simulate import simulate
from wormlab.errors import ScenarioError
from wormlab.internet.address_space import _reserved_mask, nat_mask, place_hosts
from wormlab.scenario import load_scenario

NAT = ["internet.nat.share=0.05", "worm.initial_infected=60", "time.end=2001-08-04T00:30:00Z"]


def _split(res):
    hosts = res.hosts
    behind = nat_mask(hosts["address"].to_numpy(), res.scenario.internet)
    infected = hosts["infected_at"].notna().to_numpy()
    seed = (hosts["infected_by"] < 0).to_numpy() & infected
    by = hosts["infected_by"].to_numpy()
    from_outside = infected & behind & ~seed & ~behind[np.maximum(by, 0)]
    return behind, infected, seed, from_outside


def test_placement_keeps_public_hosts_out_of_unrouted_space():
    sc = load_scenario("codered-ii-2001-08-04", overrides=["internet.nat.share=0.05"])
    address = place_hosts(sc.internet, np.random.default_rng(3))
    behind = nat_mask(address, sc.internet)
    assert address.size == len(np.unique(address)) == 300_000
    assert behind.sum() == 15_000 and ((address[behind] >> 24) == 10).all()
    assert not _reserved_mask(address[~behind]).any()


def test_code_red_ii_sweeps_the_hosts_behind_its_nat():
    sc = load_scenario("codered-ii-2001-08-04", overrides=NAT)
    res = simulate(sc, seed=5)
    behind, infected, seed, from_outside = _split(res)
    assert (seed & behind).any()  # with 60 first hosts, some start behind the NAT
    assert not from_outside.any()
    # within half an hour nearly every host behind the NAT is taken (seeds 5-7: 99.7-99.8%),
    # while the public space is at 6-10%
    share_nat = infected[behind].mean()
    share_public = infected[~behind].mean()
    assert share_nat > 0.95 and share_public < 0.2, (share_nat, share_public)


def test_uniform_scanners_outside_never_reach_hosts_behind_nat():
    sc = load_scenario("codered-ii-2001-08-04", overrides=NAT + ["worm.scan=uniform"])
    for seed in (5, 6):
        res = simulate(sc, seed=seed)
        behind, infected, seed_hosts, from_outside = _split(res)
        assert not from_outside.any()
        assert infected[~behind].sum() > 100  # it did spread outside (270 and more)
        if not (seed_hosts & behind).any():
            assert not infected[behind].any()
        # inside, a uniform scanner's probes into 10/8 (1/256 of them) still find its neighbours


def test_nat_needs_the_whole_ipv4_space():
    with pytest.raises(ScenarioError) as err:
        load_scenario("codered-ii-2001-08-04", overrides=["internet.nat.share=0.1", "internet.address_bits=24",
                                                          "internet.vulnerable_hosts=1000", "internet.slash8_weights={}"])
    assert "internet: nat:" in str(err.value)
    with pytest.raises(ScenarioError) as err:
        load_scenario("codered-ii-2001-08-04", overrides=["internet.nat.share=1.5"])
    assert "internet.nat.share" in str(err.value)
