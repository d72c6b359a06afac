"""Random Constant Spread (Staniford, Paxson, Weaver, USENIX Security 2002).

The fraction ``a`` of vulnerable hosts infected obeys da/dt = K·a·(1−a): each infected host
finds new victims at rate K times the susceptible share. Time is in hours and K is per hour,
so ``T`` is the hour at which half the vulnerable population is infected.
"""

from __future__ import annotations

import math

import numpy as np

from wormlab.errors import InputError

ADDRESS_SPACE_IPV4 = 2**32


def check_rcs_params(K_per_hour: float, T_hours: float) -> None:
    """Refuse parameters the model cannot mean (a person typed them on the command line)."""
    if not math.isfinite(K_per_hour) or K_per_hour <= 0:
        raise InputError(f"rcs parameter K must be a positive number per hour, got {K_per_hour}")
    if not math.isfinite(T_hours):
        raise InputError(f"rcs parameter T must be a finite number of hours, got {T_hours}")


def rcs_fraction(t_hours, K_per_hour: float, T_hours: float) -> np.ndarray:
    """Closed form a(t) = e^{K(t−T)} / (1 + e^{K(t−T)}), evaluated without overflow."""
    from scipy.special import expit

    check_rcs_params(K_per_hour, T_hours)
    return expit(K_per_hour * (np.asarray(t_hours, dtype=float) - T_hours))


def solve_rcs(t_hours, K_per_hour: float, a0: float) -> np.ndarray:
    """Integrate da/dt = K·a·(1−a) numerically from a(t[0]) = a0 (checks the closed form)."""
    from scipy.integrate import solve_ivp

    t = np.asarray(t_hours, dtype=float)
    check_rcs_params(K_per_hour, 0.0)
    if not 0.0 < a0 < 1.0:
        raise InputError(f"rcs initial fraction a0 must be in (0, 1), got {a0}")
    sol = solve_ivp(
        lambda _t, a: K_per_hour * a * (1.0 - a),
        (t[0], t[-1]),
        [a0],
        t_eval=t,
        method="LSODA",
        rtol=1e-10,
        atol=1e-14,
    )
    if not sol.success:  # pragma: no cover - LSODA on a logistic does not fail
        raise InputError(f"rcs solver failed: {sol.message}")
    return sol.y[0]


def half_time_hours(K_per_hour: float, a0: float, t0_hours: float = 0.0) -> float:
    """T such that a(t0) = a0: the logistic's midpoint, T = t0 + ln((1−a0)/a0)/K."""
    check_rcs_params(K_per_hour, t0_hours)
    if not 0.0 < a0 < 1.0:
        raise InputError(f"rcs initial fraction a0 must be in (0, 1), got {a0}")
    return t0_hours + math.log((1.0 - a0) / a0) / K_per_hour


def k_per_hour(
    probe_rate_per_s: float, vulnerable_hosts: float, address_space: float = ADDRESS_SPACE_IPV4
) -> float:
    """K = r·3600·V/2^32: hits per infected host per hour on a fully susceptible population.

    Takes plain numbers so any scenario (or a back-of-envelope) can use it.
    """
    for name, value in (
        ("probe_rate_per_s", probe_rate_per_s),
        ("vulnerable_hosts", vulnerable_hosts),
        ("address_space", address_space),
    ):
        if not math.isfinite(value) or value <= 0:
            raise InputError(f"{name} must be a positive number, got {value}")
    if vulnerable_hosts > address_space:
        raise InputError(
            f"vulnerable_hosts ({vulnerable_hosts:g}) exceeds the address space ({address_space:g})"
        )
    return probe_rate_per_s * 3600.0 * vulnerable_hosts / address_space


def doubling_time_hours(K_per_hour: float) -> float:
    """Early (a ≪ 1) doubling time ln 2 / K."""
    check_rcs_params(K_per_hour, 0.0)
    return math.log(2.0) / K_per_hour


def rcs_table(K_per_hour: float, T_hours: float, t_end_hours: float, step_hours: float):
    """A DataFrame with columns ``t_hours`` and ``infected_fraction`` (the CLI's CSV)."""
    import pandas as pd

    t = time_grid(t_end_hours, step_hours)
    return pd.DataFrame({"t_hours": t, "infected_fraction": rcs_fraction(t, K_per_hour, T_hours)})


def time_grid(t_end_hours: float, step_hours: float) -> np.ndarray:
    """Times 0, step, …, t_end (inclusive) in hours; shared by every model's table."""
    if not math.isfinite(t_end_hours) or t_end_hours <= 0:
        raise InputError(f"end time must be a positive number of hours, got {t_end_hours}")
    if not math.isfinite(step_hours) or step_hours <= 0 or step_hours > t_end_hours:
        raise InputError(f"step must be positive and at most the end time, got {step_hours}")
    n = int(math.floor(t_end_hours / step_hours + 1e-9))
    if n > 10_000_000:
        raise InputError(f"too many time points ({n}); use a larger step")
    return np.arange(n + 1, dtype=float) * step_hours
