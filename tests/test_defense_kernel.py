"""Pieces of the compiled defences checked on their own: the small-mean binomial of the patch
campaign against the binomial law (chi-square, fixed seed), and the per-host bitsets and
organisation ranges that let a hit skip the organisation arrays."""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit
from scipy import stats

from wormlab.defenses.plan import _bitset, _spans, make_plan
from wormlab.engine.kernel_defense_hosts import _binomial
from wormlab.scenario import load_scenario


@njit
def _draws(seed_rng, n, p, m):
    out = np.empty(m, np.int64)
    for i in range(m):
        out[i] = _binomial(seed_rng, n, p)
    return out


@pytest.mark.parametrize(("n", "p"), [(300_000, 2e-5), (400_000, 4e-5), (10, 0.3), (1000, 0.01), (50, 0.9)])
def test_small_mean_binomial_follows_the_binomial_law(n, p):
    """100,000 draws; chi-square over the cells expecting 5 or more, p-value above 0.001."""
    x = _draws(np.random.default_rng(11), n, p, 100_000)
    k = np.arange(x.max() + 1)
    expected = stats.binom.pmf(k, n, p) * x.size
    observed = np.bincount(x, minlength=k.size)
    keep = expected >= 5
    test = stats.chisquare(observed[keep], expected[keep] / expected[keep].sum() * observed[keep].sum())
    assert test.pvalue > 0.001
    assert abs(x.mean() - n * p) < 5 * np.sqrt(n * p * (1 - p) / x.size)


@pytest.mark.parametrize("n", [1, 63, 64, 65, 1000, 40_001])
def test_bitset_holds_each_hosts_flag(n):
    flags = np.random.default_rng(n).random(n) < 0.3
    words = _bitset(flags)
    h = np.arange(n)
    assert words.dtype == np.uint64 and words.size == -(-n // 64)
    assert np.array_equal(((words[h >> 6] >> (h & 63).astype(np.uint64)) & np.uint64(1)).astype(bool), flags)


def test_each_organisation_is_one_range_of_host_indices():
    plan = make_plan(load_scenario("codered-2001-07-19-defended"), 50_000)
    p = plan.placement
    span = _spans(p)
    h = np.arange(p.host_org.size)
    assert np.all((h >= span[p.host_org, 0]) & (h < span[p.host_org, 1]))
    assert span[:, 1].sum() - span[:, 0].sum() == h.size  # the ranges cover every host once
