"""Where hosts live: only in allocated, routable space, distinct, sorted, with /8 weights honoured."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import tiny_dict
from wormlab.errors import ScenarioError
from wormlab.internet.address_space import (
    _reserved_mask,
    int_to_ip,
    ip_to_int,
    place_hosts,
    routable_capacity,
    usable_slash8s,
)
from wormlab.scenario import Internet, scenario_from_dict


def test_usable_slash8s_follow_the_iana_registry_in_july_2001():
    usable = set(usable_slash8s("2001-07"))
    assert {0, 10, 127}.isdisjoint(usable)
    assert not any(p >= 224 for p in usable)
    assert {1, 2, 5, 14, 100}.isdisjoint(usable) or 14 not in usable  # allocated 2009-2010 or later
    assert {3, 4, 24, 128, 198, 211}.issubset(usable)
    assert 100 <= len(usable) <= 140  # "about 124 /8s were allocated or legacy" (shared/data README)
    assert len(usable_slash8s("2021-12")) > len(usable)


def test_ip_round_trip():
    assert ip_to_int("198.137.240.91") == (198 << 24) | (137 << 16) | (240 << 8) | 91
    assert int_to_ip(ip_to_int("198.137.240.91")) == "198.137.240.91"


def test_placed_hosts_are_sorted_distinct_and_never_in_reserved_space():
    internet = Internet(vulnerable_hosts=200_000)
    addrs = place_hosts(internet, np.random.default_rng(7))
    assert addrs.dtype == np.uint32 and addrs.size == 200_000
    assert np.all(np.diff(addrs.astype(np.int64)) > 0)
    assert not _reserved_mask(addrs).any()
    assert set(np.unique(addrs >> 24).tolist()) <= set(usable_slash8s("2001-07"))
    for block, plen in (("192.168.0.0", 16), ("172.16.0.0", 12), ("169.254.0.0", 16)):
        lo = ip_to_int(block)
        assert not np.any((addrs >= lo) & (addrs < lo + (1 << (32 - plen))))


def test_slash8_weights_set_relative_density():
    usable = usable_slash8s("2001-07")
    internet = Internet(vulnerable_hosts=100_000, slash8_weights={"24": 10.0, "3": 0.0})
    addrs = place_hosts(internet, np.random.default_rng(1))
    top = addrs >> 24
    assert not np.any(top == 3)
    # 24/8 has a full /8 of capacity: expected share = 10 / (sum of other full-ish /8s + 10).
    from wormlab.internet.address_space import slash8_layout

    prefixes, capacity, weights = slash8_layout(internet)
    p = (capacity * weights)[list(prefixes).index(24)] / (capacity * weights).sum()
    share = np.mean(top == 24)
    sd = np.sqrt(p * (1 - p) / addrs.size)
    assert abs(share - p) < 5 * sd
    assert 24 in usable


def test_small_spaces_use_every_address():
    internet = Internet(vulnerable_hosts=65_536, address_bits=16)
    addrs = place_hosts(internet, np.random.default_rng(0))
    assert np.array_equal(addrs, np.arange(65_536, dtype=np.uint32))
    assert routable_capacity(internet) == 65_536


def test_more_hosts_than_routable_addresses_is_refused():
    with pytest.raises(ScenarioError, match="internet.vulnerable_hosts.*routable"):
        scenario_from_dict(tiny_dict(internet={"vulnerable_hosts": 70_000, "address_bits": 16}))
