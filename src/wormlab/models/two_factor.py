"""The Zou–Gong–Towsley two-factor worm model (ACM CCS 2002).

Two things slow a worm that RCS ignores: people patch (both susceptible and infected hosts),
and the worm's own traffic congests the network. With S susceptible, I infectious,
R infectious hosts removed (patched after infection) and Q susceptible hosts removed::

    dS/dt = −β(t)·S·I − dQ/dt        β(t) = β0·(1 − I/N)^η
    dR/dt = γ·I
    dQ/dt = μ·S·(I + R)
    dI/dt = β(t)·S·I − γ·I           (so that S + I + R + Q = N)

Time unit: **hours** (our choice; the paper's own unit is unclear, so its parameter values
are a soft reference). Rates are given population-free, ``beta0N`` = β0·N and ``muN`` = μ·N,
both per hour, so the same numbers serve any N. The paper's values are the defaults:
N = 1,000,000, I0 = 1, η = 3, γ = 0.05, μ = 0.06/N, β0 = 0.8/N.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from wormlab.errors import InputError
from wormlab.models.kermack import check_population, check_positive


@dataclass(frozen=True)
class TwoFactorParams:
    """Parameters of the two-factor model; rates per hour, populations in hosts."""

    beta0N: float = 0.8
    gamma: float = 0.05
    muN: float = 0.06
    eta: float = 3.0
    N: float = 1_000_000.0
    I0: float = 1.0

    def check(self) -> TwoFactorParams:
        check_positive("two-factor", "beta0N", self.beta0N)
        check_positive("two-factor", "gamma", self.gamma, allow_zero=True)
        check_positive("two-factor", "muN", self.muN, allow_zero=True)
        check_positive("two-factor", "eta", self.eta, allow_zero=True)
        check_population("two-factor", self.N, self.I0)
        return self

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def solve_two_factor(t_hours, params: TwoFactorParams) -> dict[str, np.ndarray]:
    """Host counts S, I, R, Q and ever-infected J = I + R at each time (hours from I0)."""
    from scipy.integrate import odeint

    p = params.check()
    t = np.asarray(t_hours, dtype=float)
    if t.ndim != 1 or t.size < 1 or np.any(np.diff(t) <= 0):
        raise InputError("two-factor times must be a strictly increasing 1-D sequence")

    def rhs(y, _t):
        s, i, r, _q = y
        beta = p.beta0N * max(1.0 - i, 0.0) ** p.eta
        dq = p.muN * s * (i + r)
        infect = beta * s * i
        return [-infect - dq, infect - p.gamma * i, p.gamma * i, dq]

    # odeint (LSODA, compiled) is ~20x faster than solve_ivp here, which matters when fitting.
    y0 = [1.0 - p.I0 / p.N, p.I0 / p.N, 0.0, 0.0]
    grid = t if t.size > 1 else np.array([t[0], t[0] + 1e-9])
    y, info = odeint(rhs, y0, grid, rtol=1e-9, atol=1e-14, full_output=True, mxstep=50_000)
    if info["message"] != "Integration successful.":  # pragma: no cover
        raise InputError(f"two-factor solver failed: {info['message']}")
    s, i, r, q = np.clip(y[: t.size].T, 0.0, 1.0) * p.N
    return {
        "susceptible": s,
        "infected": i,
        "removed_infected": r,
        "removed_susceptible": q,
        "ever_infected": i + r,
    }


def two_factor_table(params: TwoFactorParams, t_end_hours: float, step_hours: float):
    """The CLI's table: ``t_hours``, ``infected_fraction`` (I/N) and the compartments."""
    import pandas as pd

    from wormlab.models.rcs import time_grid

    t = time_grid(t_end_hours, step_hours)
    out = solve_two_factor(t, params)
    frame = pd.DataFrame({"t_hours": t, "infected_fraction": out["infected"] / params.N})
    frame["ever_infected_fraction"] = out["ever_infected"] / params.N
    for name, values in out.items():
        frame[name] = values
    return frame


def params_from_mapping(values: dict[str, float]) -> TwoFactorParams:
    """Build parameters from NAME=VALUE pairs, naming any unknown name."""
    known = TwoFactorParams.__dataclass_fields__
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise InputError(
            f"two-factor has no parameter {unknown[0]!r} (known: {', '.join(known)})"
        )
    params = TwoFactorParams(**{k: float(v) for k, v in values.items()})
    if not all(math.isfinite(v) for v in params.as_dict().values()):
        raise InputError("two-factor parameters must be finite numbers")
    return params.check()
