"""RCS: closed form, solver, K from scenario-like numbers, and fitting recovers known K."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from wormlab.errors import InputError
from wormlab.models.fitting import fit_rcs
from wormlab.models.rcs import (
    doubling_time_hours,
    half_time_hours,
    k_per_hour,
    rcs_fraction,
    solve_rcs,
)
from wormlab.models.series import series_from_frame


def _series(t, values, column):
    return series_from_frame(pd.DataFrame({"t_hours": t, column: values}), "test", None)


def test_closed_form_matches_numerical_solution():
    t = np.linspace(0.0, 30.0, 301)
    K, T = 1.33, 11.0
    exact = rcs_fraction(t, K, T)
    solved = solve_rcs(t, K, float(exact[0]))
    assert np.max(np.abs(solved - exact)) < 1e-7
    assert rcs_fraction(T, K, T) == pytest.approx(0.5)


def test_half_time_inverts_the_closed_form():
    T = half_time_hours(1.8, 1e-5, t0_hours=2.0)
    assert rcs_fraction(2.0, 1.8, T) == pytest.approx(1e-5, rel=1e-9)


def test_k_from_probe_rate_and_population():
    # 1 probe/s on a space where V fills 1/3600 of the addresses: one hit per hour.
    assert k_per_hour(1.0, 2**32 / 3600) == pytest.approx(1.0)
    assert k_per_hour(2.0, 1000, address_space=2**16) == pytest.approx(2 * 3600 * 1000 / 2**16)


def test_warhol_point_is_close_to_the_formula():
    # Staniford et al. fitted K = 2.6 to a simulation at 10 scans/s and 300,000 hosts.
    from wormlab.history import observation

    rate = observation("warhol.probe_rate").value
    hosts = observation("warhol.vulnerable_hosts").value
    assert k_per_hour(rate, hosts) == pytest.approx(observation("warhol.rcs_k").value, rel=0.05)


def test_early_doubling_time():
    assert doubling_time_hours(math.log(2)) == pytest.approx(1.0)


@pytest.mark.parametrize("K, T", [(0.0, 1.0), (-1.0, 1.0), (float("nan"), 1.0), (1.0, float("inf"))])
def test_out_of_range_parameters_are_refused(K, T):
    with pytest.raises(InputError, match="rcs parameter"):
        rcs_fraction([0.0, 1.0], K, T)


def test_k_helper_refuses_nonsense():
    with pytest.raises(InputError, match="probe_rate_per_s"):
        k_per_hour(-1.0, 1000)
    with pytest.raises(InputError, match="exceeds the address space"):
        k_per_hour(1.0, 2**17, address_space=2**16)


@pytest.mark.parametrize("K_true", [0.9, 1.33, 2.6])
def test_fit_recovers_k_from_noiseless_fraction(K_true):
    t = np.arange(0.0, 24.0, 0.25)
    fit = fit_rcs(_series(t, rcs_fraction(t, K_true, 10.0), "infected_fraction"))
    assert fit.value("K") == pytest.approx(K_true, rel=0.01)
    assert fit.value("T") == pytest.approx(10.0, abs=0.05)
    assert fit.params["V"].fixed and fit.r2 > 0.9999


def test_fit_recovers_k_and_plateau_from_noisy_counts():
    rng = np.random.default_rng(7)
    t = np.arange(0.0, 20.0, 1 / 60)
    V, K_true = 360_000, 1.33
    counts = rng.poisson(V * rcs_fraction(t, K_true, 9.0)).astype(float)
    fit = fit_rcs(_series(t, counts, "ever_infected"))
    assert fit.value("K") == pytest.approx(K_true, rel=0.01)
    assert fit.value("V") == pytest.approx(V, rel=0.01)
    k = fit.params["K"]
    assert k.low < K_true < k.high  # the 95% interval covers the truth here
    assert 0.999 < fit.r2 <= 1.0
    assert fit.rmse < 0.01 * V


def test_bootstrap_interval_is_reproducible_and_brackets_the_estimate():
    rng = np.random.default_rng(3)
    t = np.arange(0.0, 20.0, 0.1)
    counts = rng.poisson(50_000 * rcs_fraction(t, 1.5, 8.0)).astype(float)
    s = _series(t, counts, "count")
    a = fit_rcs(s, bootstrap=60, seed=1)
    b = fit_rcs(s, bootstrap=60, seed=1)
    assert a.params["K"] == b.params["K"]
    assert a.params["K"].low < a.value("K") < a.params["K"].high
    assert a.interval_method.startswith("bootstrap")


def test_fixed_parameters_are_held():
    t = np.arange(0.0, 24.0, 0.5)
    fit = fit_rcs(_series(t, rcs_fraction(t, 1.2, 9.0), "infected_fraction"), fixed={"K": 1.0})
    assert fit.value("K") == 1.0 and fit.params["K"].fixed
    assert fit.r2 < 1.0


def test_fit_refuses_unknown_parameter_and_flat_series():
    t = np.arange(0.0, 10.0)
    with pytest.raises(InputError, match="no parameter 'Q'"):
        fit_rcs(_series(t, rcs_fraction(t, 1.0, 5.0), "infected_fraction"), fixed={"Q": 1.0})
    with pytest.raises(InputError, match="zero everywhere"):
        fit_rcs(_series(t, np.zeros_like(t), "count"))
