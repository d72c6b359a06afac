"""Fit RCS and the two-factor model to an outbreak curve, with intervals and goodness of fit.

Least squares (``scipy.optimize.curve_fit``, bounded trust-region). Intervals are 95%:
by default from the covariance matrix (estimate ± t₀.₉₇₅,dof · standard error), or, with
``bootstrap=N``, percentiles of N refits to residual-resampled curves (seeded, reproducible).
Goodness of fit is R² and the RMSE in the series' own units.

What is compared with the series: RCS gives V·a(t) (V = 1 for a fraction column unless the
plateau is freed). The two-factor model gives the ever-infected hosts J = I + R (or J/N for a
fraction column), except that a column named ``infected`` is compared with I.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from wormlab.errors import InputError
from wormlab.models.series import Series

CONFIDENCE = 0.95


@dataclass(frozen=True)
class Estimate:
    """One fitted parameter with its 95% interval; ``fixed`` ones were not fitted."""

    value: float
    low: float
    high: float
    stderr: float
    unit: str
    fixed: bool = False


@dataclass
class FitResult:
    """What ``wormlab fit`` prints: parameters, intervals, goodness of fit, provenance."""

    model: str
    params: dict[str, Estimate]
    r2: float
    rmse: float
    n_points: int
    dof: int
    interval_method: str
    column: str
    source: str
    start_time: object = None
    fitted: np.ndarray = field(default=None, repr=False)
    notes: list[str] = field(default_factory=list)

    def value(self, name: str) -> float:
        return self.params[name].value

    def to_dict(self) -> dict:
        """JSON-ready: plain floats, times as ISO-8601 UTC."""
        start = None
        if self.start_time is not None:
            start = self.start_time.strftime("%Y-%m-%dT%H:%M:%SZ")
        return {
            "model": self.model,
            "source": self.source,
            "column": self.column,
            "start_time": start,
            "params": {
                k: {
                    "value": e.value,
                    "low": e.low,
                    "high": e.high,
                    "stderr": e.stderr,
                    "unit": e.unit,
                    "fixed": e.fixed,
                }
                for k, e in self.params.items()
            },
            "goodness_of_fit": {"r2": self.r2, "rmse": self.rmse},
            "n_points": self.n_points,
            "dof": self.dof,
            "interval": f"{int(CONFIDENCE * 100)}% {self.interval_method}",
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class _Spec:
    """A model as the fitter sees it: free names, start values, bounds, units, and f(t, *free)."""

    names: tuple[str, ...]
    p0: tuple[float, ...]
    lower: tuple[float, ...]
    upper: tuple[float, ...]
    units: dict[str, str]
    fn: Callable[..., np.ndarray]
    fixed: dict[str, float]


def fit_rcs(
    series: Series,
    fixed: dict[str, float] | None = None,
    fit_plateau: bool | None = None,
    bootstrap: int = 0,
    seed: int = 0,
) -> FitResult:
    """Fit K (per hour), T (hours after the first row) and the plateau V to the series.

    ``fit_plateau`` defaults to True for counts and False (V = 1) for a fraction column;
    anything in ``fixed`` (names K, T, V) is held at that value.
    """
    fixed = dict(fixed or {})
    _check_names("rcs", fixed, ("K", "T", "V"))
    y_scale = _y_scale(series)
    if fit_plateau is None:
        fit_plateau = not series.is_fraction
    if not fit_plateau and "V" not in fixed:
        fixed["V"] = 1.0 if series.is_fraction else float(series.values.max())
    for name in ("K", "V"):
        if name in fixed and not fixed[name] > 0:
            raise InputError(f"rcs parameter {name} must be positive, got {fixed[name]}")

    K0, T0, V0 = _rcs_start(series, fixed)
    start = {"K": K0, "T": T0, "V": V0 / y_scale}
    t_span = float(series.t_hours[-1] - series.t_hours[0])
    bounds = {
        "K": (1e-6, 1e4),
        "T": (-10.0 * max(t_span, 1.0), 10.0 * max(t_span, 1.0)),
        "V": (0.5 * series.values.max() / y_scale, 1e3 * series.values.max() / y_scale),
    }
    scaled_fixed = {k: (v / y_scale if k == "V" else v) for k, v in fixed.items()}

    def curve(t, K, T, V):
        from scipy.special import expit

        return V * expit(K * (t - T))

    spec = _make_spec(
        ("K", "T", "V"), start, bounds, {"K": "per hour", "T": "hours", "V": "hosts"},
        curve, scaled_fixed,
    )
    result = _fit(spec, series, "rcs", y_scale, bootstrap, seed)
    if series.is_fraction:
        result.params["V"] = _replace_unit(result.params["V"], "fraction")
    result.notes.append(f"early doubling time {math.log(2) / result.value('K') * 60:.1f} min")
    if series.start_time is not None:
        import pandas as pd

        midpoint = (series.start_time + pd.Timedelta(hours=result.value("T"))).round("s")
        result.notes.append(f"T (half of V) at {midpoint:%Y-%m-%dT%H:%M:%SZ}")
    return result


def fit_two_factor(
    series: Series,
    fixed: dict[str, float] | None = None,
    bootstrap: int = 0,
    seed: int = 0,
) -> FitResult:
    """Fit the two-factor model (hours) to the series; names in ``fixed`` are held.

    Free by default: beta0N, gamma, muN, eta, I0, and N for counts (N = 1 for fractions).
    The series' first row is the model's t = 0, so I0 is the infected count at that row.
    """
    from wormlab.models.two_factor import TwoFactorParams, solve_two_factor

    fixed = dict(fixed or {})
    names = ("beta0N", "gamma", "muN", "eta", "I0", "N")
    _check_names("two-factor", fixed, names)
    y_scale = _y_scale(series)
    if series.is_fraction:
        fixed.setdefault("N", 1.0)
    compare_infected = series.column == "infected"

    K0, T0, V0 = _rcs_guess(series, fixed.get("N"))
    N0 = fixed.get("N", 1.1 * V0)
    ymax = series.values.max() / y_scale
    bounds = {
        "beta0N": (1e-6, 1e4), "gamma": (0.0, 1e3), "muN": (0.0, 1e3), "eta": (0.0, 50.0),
        "I0": (1e-12 * N0 / y_scale, 0.9 * N0 / y_scale), "N": (0.5 * ymax, 1e3 * ymax),
    }
    scaled_fixed = {k: (v / y_scale if k in ("N", "I0") else v) for k, v in fixed.items()}

    units = {"beta0N": "per hour", "gamma": "per hour", "muN": "per hour", "eta": "",
             "I0": "hosts", "N": "hosts"}

    def curve(t, beta0N, gamma, muN, eta, I0, N):
        if not (0 < I0 < N):
            return np.full_like(t, np.inf)
        p = TwoFactorParams(beta0N=beta0N, gamma=gamma, muN=muN, eta=eta, N=N, I0=I0)
        out = solve_two_factor(t, p)
        return out["infected"] if compare_infected else out["ever_infected"]

    # Congestion and patching make the curve slower than beta0N, so the RCS K is a low start;
    # try a few growth rates, each with the I0 that puts the midpoint near the RCS T.
    best, best_spec = None, None
    for factor in (4.0, 2.0, 1.0):
        b0 = fixed.get("beta0N", factor * K0)
        growth = max(b0 - fixed.get("gamma", 0.05), 0.1 * b0)
        i0 = min(0.5 * N0 * math.exp(-growth * max(T0, 0.0)), 0.1 * N0)
        start = {"beta0N": b0, "gamma": 0.05, "muN": 0.06, "eta": 3.0, "I0": i0 / y_scale,
                 "N": N0 / y_scale}
        spec = _make_spec(names, start, bounds, units, curve, scaled_fixed)
        try:
            result = _fit(spec, series, "two-factor", y_scale, 0, seed)
        except InputError:
            if best is None and factor == 1.0:
                raise
            continue
        if best is None or result.rmse < best.rmse:
            best, best_spec = result, spec
        if best.r2 > 0.9999:
            break
    result = best
    if bootstrap:
        result = _fit(best_spec, series, "two-factor", y_scale, bootstrap, seed)
    if series.is_fraction:
        for name in ("I0", "N"):
            result.params[name] = _replace_unit(result.params[name], "fraction")
    return result


# --- machinery -----------------------------------------------------------------------------


def _rcs_guess(series: Series, plateau: float | None) -> tuple[float, float, float]:
    """K, T, V of a quick RCS fit (or its start values when even that fails)."""
    fixed = {"V": plateau} if plateau is not None else {}
    try:
        rcs = fit_rcs(series, fixed=fixed, fit_plateau=plateau is None)
        return rcs.value("K"), rcs.value("T"), rcs.value("V")
    except InputError:
        return _rcs_start(series, fixed)


def _check_names(model: str, fixed: dict[str, float], names: tuple[str, ...]) -> None:
    for name, value in fixed.items():
        if name not in names:
            raise InputError(f"{model} has no parameter {name!r} (known: {', '.join(names)})")
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            raise InputError(f"{model} parameter {name} must be a finite number, got {value!r}")


def _y_scale(series: Series) -> float:
    """Counts are fitted in units of their maximum so the optimiser sees numbers near 1."""
    peak = float(series.values.max())
    if peak <= 0:
        raise InputError(f"{series.source}: column {series.column!r} is zero everywhere")
    return 1.0 if series.is_fraction else peak


def _rcs_start(series: Series, fixed: dict[str, float]) -> tuple[float, float, float]:
    """Start values: V a little above the top, K and T from a line through logit(y/V)."""
    y = series.values
    V = float(fixed.get("V", 1.0 if series.is_fraction else 1.05 * y.max()))
    share = y / V
    mid = (share > 0.01) & (share < 0.99)
    K = fixed.get("K")
    T = fixed.get("T")
    if mid.sum() >= 2:
        logit = np.log(share[mid] / (1.0 - share[mid]))
        slope, intercept = np.polyfit(series.t_hours[mid], logit, 1)
        if slope > 0:
            K = K if K is not None else float(slope)
            T = T if T is not None else float(-intercept / slope)
    if K is None:
        K = 1.0
    if T is None:
        T = float(series.t_hours[np.argmin(np.abs(share - 0.5))])
    return float(K), float(T), V


def _make_spec(names, start, bounds, units, fn, fixed) -> _Spec:
    free = tuple(n for n in names if n not in fixed)

    def curve(t, *free_values):
        values = dict(fixed)
        values.update(zip(free, free_values))
        return fn(t, *(values[n] for n in names))

    lower = tuple(bounds[n][0] for n in free)
    upper = tuple(bounds[n][1] for n in free)
    p0 = tuple(min(max(start[n], lo + 1e-12), hi - 1e-12) for n, lo, hi in zip(free, lower, upper))
    return _Spec(free, p0, lower, upper, units, curve, dict(fixed))


def _fit(spec: _Spec, series: Series, model: str, y_scale: float, bootstrap: int, seed: int):
    from scipy import stats

    n = len(series.values)
    k = len(spec.names)
    if n < k + 2:
        raise InputError(
            f"{series.source}: too few points to fit {model}: {n} (need at least {k + 2})"
        )
    if bootstrap < 0:
        raise InputError(f"bootstrap must be 0 or a positive number of refits, got {bootstrap}")
    t, y = series.t_hours, series.values / y_scale
    popt, pcov = _curve_fit(spec, t, y, spec.p0, series.source, model)
    fitted = spec.fn(t, *popt)
    resid = y - fitted
    dof = n - k
    ss_res = float(np.sum(resid**2))
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - ss_res / ss_tot if ss_tot > 0 else float("nan")
    rmse = math.sqrt(ss_res / n) * y_scale

    scaled = {"V", "N", "I0"} if y_scale != 1.0 else set()
    stderr = np.sqrt(np.clip(np.diag(pcov), 0.0, None)) if k else np.array([])
    if bootstrap:
        rng = np.random.default_rng(seed)
        draws = []
        for _ in range(bootstrap):
            y_star = fitted + rng.choice(resid, size=n, replace=True)
            try:
                p_star, _ = _curve_fit(spec, t, y_star, popt, series.source, model)
            except InputError:
                continue
            draws.append(p_star)
        if len(draws) < max(10, bootstrap // 2):
            raise InputError(f"{series.source}: bootstrap refits of {model} mostly failed")
        draws = np.asarray(draws)
        alpha = (1.0 - CONFIDENCE) / 2.0
        lows, highs = np.quantile(draws, [alpha, 1.0 - alpha], axis=0)
        stderr = draws.std(axis=0, ddof=1)
        method = f"bootstrap ({len(draws)} refits)"
    else:
        tq = float(stats.t.ppf(0.5 + CONFIDENCE / 2.0, dof))
        # A symmetric interval may cross a parameter's bound (a negative rate): clip it there.
        lows = np.maximum(popt - tq * stderr, spec.lower)
        highs = np.minimum(popt + tq * stderr, spec.upper)
        method = "covariance"
    vague = [n for n, v, e in zip(spec.names, popt, stderr) if not e < abs(v)]

    params: dict[str, Estimate] = {}
    all_names = list(spec.fixed) + list(spec.names)
    for name in sorted(all_names, key=lambda n: list(spec.units).index(n)):
        factor = y_scale if name in scaled else 1.0
        if name in spec.fixed:
            v = spec.fixed[name] * factor
            params[name] = Estimate(v, v, v, 0.0, spec.units[name], fixed=True)
            continue
        i = spec.names.index(name)
        params[name] = Estimate(
            float(popt[i] * factor), float(lows[i] * factor), float(highs[i] * factor),
            float(stderr[i] * factor), spec.units[name],
        )
    notes = []
    if vague:
        notes.append(f"poorly identified (standard error above the estimate): {', '.join(vague)}; "
                     "hold some parameters with --param NAME=VALUE")
    return FitResult(
        model=model, params=params, r2=r2, rmse=rmse, n_points=n, dof=dof,
        interval_method=method, column=series.column, source=series.source,
        start_time=series.start_time, fitted=fitted * y_scale, notes=notes,
    )


def _curve_fit(spec: _Spec, t, y, p0, source: str, model: str):
    import warnings

    from scipy.optimize import OptimizeWarning, curve_fit

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", OptimizeWarning)
            popt, pcov = curve_fit(
                spec.fn, t, y, p0=p0, bounds=(spec.lower, spec.upper), method="trf",
                max_nfev=4000, x_scale="jac",
            )
    except (RuntimeError, ValueError) as exc:
        raise InputError(f"{source}: {model} fit did not converge ({exc})") from None
    if not np.all(np.isfinite(popt)):
        raise InputError(f"{source}: {model} fit did not converge (non-finite parameters)")
    if not np.all(np.isfinite(pcov)):
        pcov = np.where(np.isfinite(pcov), pcov, np.inf)
    return popt, pcov


def _replace_unit(e: Estimate, unit: str) -> Estimate:
    return Estimate(e.value, e.low, e.high, e.stderr, unit, e.fixed)
