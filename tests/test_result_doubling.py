"""``result.early_doubling_minutes``: the least-squares doubling time of the early phase."""

import numpy as np

from wormlab.result import early_doubling_minutes


def _rows(ever):
    return np.arange(ever.size, dtype=np.int64) * 60_000_000_000  # one row a minute, in ns


def test_recovers_the_doubling_time_of_an_exact_exponential():
    t = np.arange(600)
    ever = np.round(10 * 2.0 ** (t / 30.0))  # doubling every 30 min
    got = early_doubling_minutes(_rows(ever), ever, vulnerable=400_000)
    assert abs(got - 30.0) < 0.05  # rounding to whole hosts only


def test_agrees_with_a_polynomial_fit_on_noisy_counts():
    rng = np.random.default_rng(3)
    t = np.arange(500)
    ever = np.maximum.accumulate(np.round(15 * np.exp(t / 40.0) * rng.lognormal(0, 0.05, t.size)))
    got = early_doubling_minutes(_rows(ever), ever, vulnerable=300_000)
    e = ever.astype(float)
    mask = (e >= 300) & (e <= 6000)
    slope = np.polyfit(t[mask].astype(float), np.log(e[mask]), 1)[0]
    assert abs(got - np.log(2) / slope) < 1e-9 * got


def test_none_when_the_early_phase_has_too_few_rows():
    ever = np.array([1.0, 2.0, 400_000.0, 400_000.0])
    assert early_doubling_minutes(_rows(ever), ever, vulnerable=400_000) is None
