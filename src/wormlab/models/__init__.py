"""Analytic worm models and fitting: what an outbreak *should* look like, to check simulations.

- :mod:`wormlab.models.rcs` — Random Constant Spread (logistic), K from probe rate and V.
- :mod:`wormlab.models.kermack` — Kermack–McKendrick SI and SIR.
- :mod:`wormlab.models.two_factor` — Zou–Gong–Towsley (patching plus congestion).
- :mod:`wormlab.models.fitting` — least-squares fits with intervals and goodness of fit.
- :mod:`wormlab.models.series` — reading a curve from CSV or a run's ``timeseries.parquet``.

All times are in hours. SciPy is imported inside the functions that need it.
"""

from __future__ import annotations

from wormlab.models.fitting import FitResult, fit_rcs, fit_two_factor
from wormlab.models.kermack import solve_si, solve_sir
from wormlab.models.rcs import k_per_hour, rcs_fraction, solve_rcs
from wormlab.models.series import Series, read_series
from wormlab.models.two_factor import TwoFactorParams, solve_two_factor

__all__ = [
    "FitResult",
    "Series",
    "TwoFactorParams",
    "fit_rcs",
    "fit_two_factor",
    "k_per_hour",
    "rcs_fraction",
    "read_series",
    "solve_rcs",
    "solve_si",
    "solve_sir",
    "solve_two_factor",
]
