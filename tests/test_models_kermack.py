"""Kermack–McKendrick SI/SIR: conservation, agreement with RCS, threshold behaviour."""

from __future__ import annotations

import numpy as np
import pytest

from wormlab.errors import InputError
from wormlab.models.kermack import basic_reproduction_number, solve_si, solve_sir
from wormlab.models.rcs import half_time_hours, rcs_fraction


def test_sir_conserves_the_population():
    t = np.linspace(0.0, 100.0, 1001)
    out = solve_sir(t, beta_per_hour=1.2, gamma_per_hour=0.3, N=50_000, I0=5)
    total = out["susceptible"] + out["infected"] + out["removed"]
    assert np.max(np.abs(total - 50_000)) < 1e-3
    assert np.all(np.diff(out["removed"]) >= -1e-9)
    assert np.all(np.diff(out["susceptible"]) <= 1e-9)


def test_si_is_the_rcs_logistic():
    t = np.linspace(0.0, 30.0, 301)
    N, I0, beta = 360_000, 1.0, 1.33
    out = solve_si(t, beta, N, I0)
    expected = rcs_fraction(t, beta, half_time_hours(beta, I0 / N))
    assert np.max(np.abs(out["infected"] / N - expected)) < 1e-6


def test_below_threshold_no_outbreak_above_threshold_one():
    t = np.linspace(0.0, 200.0, 401)
    assert basic_reproduction_number(0.5, 1.0) < 1
    small = solve_sir(t, 0.5, 1.0, 100_000, 10)
    assert small["removed"][-1] < 100  # a few dozen hosts, not an epidemic
    big = solve_sir(t, 2.0, 0.5, 100_000, 10)
    assert big["removed"][-1] > 0.9 * 100_000


def test_out_of_range_parameters_are_refused():
    t = [0.0, 1.0]
    with pytest.raises(InputError, match="sir parameter beta"):
        solve_sir(t, 0.0, 0.1, 100, 1)
    with pytest.raises(InputError, match="sir parameter gamma"):
        solve_sir(t, 1.0, -0.1, 100, 1)
    with pytest.raises(InputError, match="I0"):
        solve_sir(t, 1.0, 0.1, 100, 100)
