"""The two-factor model: its limits, what patching and congestion do, and fitting it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from wormlab.errors import InputError
from wormlab.models.fitting import fit_two_factor
from wormlab.models.kermack import solve_si
from wormlab.models.series import series_from_frame
from wormlab.models.two_factor import TwoFactorParams, params_from_mapping, solve_two_factor

T = np.linspace(0.0, 80.0, 321)


def test_without_patching_or_congestion_it_is_si():
    p = TwoFactorParams(beta0N=0.8, gamma=0.0, muN=0.0, eta=0.0, N=1e6, I0=1)
    out = solve_two_factor(T, p)
    si = solve_si(T, 0.8, 1e6, 1)
    assert np.max(np.abs(out["infected"] - si["infected"])) / 1e6 < 1e-6


def test_compartments_are_conserved():
    p = TwoFactorParams()
    out = solve_two_factor(T, p)
    total = (out["susceptible"] + out["infected"] + out["removed_infected"]
             + out["removed_susceptible"])
    assert np.max(np.abs(total - p.N)) / p.N < 1e-6
    assert np.allclose(out["ever_infected"], out["infected"] + out["removed_infected"])


def test_patching_lowers_the_peak_and_the_final_size():
    base = TwoFactorParams(gamma=0.0, muN=0.0)
    patched = TwoFactorParams(gamma=0.05, muN=0.06)
    a, b = solve_two_factor(T, base), solve_two_factor(T, patched)
    assert b["infected"].max() < a["infected"].max()
    assert b["ever_infected"][-1] < a["ever_infected"][-1]
    assert b["removed_susceptible"][-1] > 0


def test_congestion_slows_the_spread():
    fast = solve_two_factor(T, TwoFactorParams(eta=0.0))
    slow = solve_two_factor(T, TwoFactorParams(eta=3.0))
    half = 0.5e6
    assert np.argmax(slow["ever_infected"] > half * 0.5) > np.argmax(fast["ever_infected"] > half * 0.5)


def test_parameters_are_checked_and_named():
    with pytest.raises(InputError, match="no parameter 'beta'"):
        params_from_mapping({"beta": 1.0})
    with pytest.raises(InputError, match="muN must be a non-negative"):
        params_from_mapping({"muN": -0.1})
    with pytest.raises(InputError, match="I0"):
        params_from_mapping({"N": 10, "I0": 20})


def test_fit_recovers_the_papers_parameters_from_noisy_counts():
    p = TwoFactorParams()
    t = np.arange(0.0, 80.0, 0.5)
    rng = np.random.default_rng(11)
    y = rng.poisson(solve_two_factor(t, p)["ever_infected"]).astype(float)
    s = series_from_frame(pd.DataFrame({"t_hours": t, "ever_infected": y}), "test")
    fit = fit_two_factor(s, fixed={"N": p.N})
    assert fit.value("beta0N") == pytest.approx(0.8, rel=0.05)
    assert fit.value("gamma") == pytest.approx(0.05, rel=0.2)
    assert fit.r2 > 0.9999
    for name in ("beta0N", "gamma", "muN", "eta"):
        e = fit.params[name]
        assert e.low <= e.value <= e.high


def test_intervals_stay_inside_the_parameters_bounds():
    # A plain logistic is two-factor without patching or congestion: with N known the fit
    # finds beta0N = K and rates at zero, whose symmetric intervals would dip below zero.
    from wormlab.models.rcs import rcs_fraction

    t = np.arange(0.0, 24.0, 0.25)
    y = np.round(300_000 * rcs_fraction(t, 1.3, 10.0))
    s = series_from_frame(pd.DataFrame({"t_hours": t, "ever_infected": y}), "test")
    fit = fit_two_factor(s, fixed={"N": 300_000})
    assert fit.value("beta0N") == pytest.approx(1.3, rel=0.01)
    for e in fit.params.values():
        assert 0.0 <= e.low <= e.value <= e.high
    assert fit.value("muN") < 0.01 and fit.value("gamma") < 0.01
    assert any("poorly identified" in note for note in fit.notes)
