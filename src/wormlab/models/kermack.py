"""Kermack–McKendrick SI and SIR models, solved with SciPy.

Time is in hours. ``beta_per_hour`` is the rate at which one infected host infects others
when everyone is susceptible (for a scanning worm, the RCS K); ``gamma_per_hour`` is the rate
at which an infected host is removed (patched, disconnected). Hosts are counted, and the
population N is conserved: S + I + R = N at every time.
"""

from __future__ import annotations

import math

import numpy as np

from wormlab.errors import InputError


def check_positive(model: str, name: str, value: float, allow_zero: bool = False) -> None:
    """One message shape for every out-of-range model parameter."""
    bad = not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero)
    if bad:
        allowed = "a non-negative number" if allow_zero else "a positive number"
        raise InputError(f"{model} parameter {name} must be {allowed}, got {value}")


def check_population(model: str, N: float, I0: float) -> None:
    check_positive(model, "N", N)
    check_positive(model, "I0", I0)
    if I0 >= N:
        raise InputError(f"{model} parameter I0 ({I0:g}) must be smaller than N ({N:g})")


def solve_sir(
    t_hours, beta_per_hour: float, gamma_per_hour: float, N: float, I0: float
) -> dict[str, np.ndarray]:
    """S, I, R (hosts) at each time: dS/dt = −βSI/N, dI/dt = βSI/N − γI, dR/dt = γI."""
    from scipy.integrate import odeint

    check_positive("sir", "beta", beta_per_hour)
    check_positive("sir", "gamma", gamma_per_hour, allow_zero=True)
    check_population("sir", N, I0)
    t = np.asarray(t_hours, dtype=float)

    def rhs(y, _t):
        s, i, _r = y
        infect = beta_per_hour * s * i
        return [-infect, infect - gamma_per_hour * i, gamma_per_hour * i]

    # Fractions keep the tolerances meaningful for any N.
    y0 = [1.0 - I0 / N, I0 / N, 0.0]
    y, info = odeint(rhs, y0, t, rtol=1e-10, atol=1e-14, full_output=True, mxstep=50_000)
    if info["message"] != "Integration successful.":  # pragma: no cover
        raise InputError(f"sir solver failed: {info['message']}")
    s, i, r = np.clip(y.T, 0.0, 1.0) * N
    return {"susceptible": s, "infected": i, "removed": r}


def solve_si(t_hours, beta_per_hour: float, N: float, I0: float) -> dict[str, np.ndarray]:
    """The SI model is SIR without removal; its infected share is the RCS logistic."""
    out = solve_sir(t_hours, beta_per_hour, 0.0, N, I0)
    return {"susceptible": out["susceptible"], "infected": out["infected"]}


def basic_reproduction_number(beta_per_hour: float, gamma_per_hour: float) -> float:
    """R0 = β/γ: the outbreak grows only if R0 > 1."""
    check_positive("sir", "gamma", gamma_per_hour)
    return beta_per_hour / gamma_per_hour


def sir_table(
    beta_per_hour: float,
    gamma_per_hour: float,
    N: float,
    I0: float,
    t_end_hours: float,
    step_hours: float,
):
    """The CLI's table: ``t_hours``, ``infected_fraction`` and S/I/R counts."""
    import pandas as pd

    from wormlab.models.rcs import time_grid

    t = time_grid(t_end_hours, step_hours)
    out = solve_sir(t, beta_per_hour, gamma_per_hour, N, I0)
    return pd.DataFrame(
        {
            "t_hours": t,
            "infected_fraction": out["infected"] / N,
            "susceptible": out["susceptible"],
            "infected": out["infected"],
            "removed": out["removed"],
        }
    )
