"""What one monitored block implies about the whole outbreak (the telescope method).

A host scanning ``r`` addresses/s uniformly over IPv4 hits one of ``N`` monitored addresses in
``t`` seconds with probability ``1 - (1 - N/2**32)**(r t)``, i.e. hits arrive as a Poisson process
of rate ``lam = -r ln(1 - N/2**32)`` (about ``r N / 2**32``). A host infected at time ``tau`` is
therefore first seen after an exponential delay, and the expected number of distinct sources seen
by ``t`` is ``S(t) = I(t) - integral I'(tau) exp(-lam (t - tau)) dtau``. We assume the global
infected count follows the Random Constant Spread logistic ``I(t) = K / (1 + exp(-k (t - t0)))``,
fit ``K, k, t0`` to the observed cumulative unique sources by weighted least squares
(``scipy.optimize.curve_fit``), and bootstrap over sources for intervals.

*Patching.* A host that is patched (or cleaned, or unplugged) stops scanning. With removal at a
constant rate ``mu`` per host (``--patch-rate-per-h``), a host infected at ``tau`` is first seen
by ``t`` with probability ``lam / (lam + mu) * (1 - exp(-(lam + mu) (t - tau)))``: it must hit the
block before it is removed. Ignoring removal (``mu = 0``, the default) reads the missing sources
as hosts not yet infected and underestimates the outbreak. The estimate is still of hosts *ever*
infected by ``t``, patched or not. Repeat visits, which give the probe rate, are counted over
each source's expected scanning time after its first sighting, ``(1 - exp(-mu T)) / mu``.

The logistic fit here is deliberately small and self-contained; it can be folded into
``wormlab.models`` (the RCS fit) later. Cut the window where the worm stops (for Code Red,
00:00 UTC on the 20th).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from wormlab.errors import InputError

IPV4_ADDRESSES = 2.0**32


def hit_rate_per_s(probe_rate_per_s: float, monitored_addresses: int) -> float:
    """Rate at which one uniformly scanning host hits the monitored block."""
    return -probe_rate_per_s * math.log1p(-monitored_addresses / IPV4_ADDRESSES)


def seen_probability(probe_rate_per_s: float, monitored_addresses: int, t_s: float) -> float:
    """1 - (1 - N/2^32)^(r t): the chance a host scanning for t seconds has been seen."""
    return 1.0 - (1.0 - monitored_addresses / IPV4_ADDRESSES) ** (probe_rate_per_s * t_s)


def estimate_probe_rate_per_s(first_s: np.ndarray, end_s: float, counts: np.ndarray,
                              monitored_addresses: int, patch_rate_per_h: float = 0.0
                              ) -> float | None:
    """Probe rate from repeat visits: the Poisson MLE of hits after the first per second.

    Each source is exposed from its first sighting until the end of the window or, expected
    over its removal time, ``(1 - exp(-mu T)) / mu``; None when no source was seen twice.
    """
    span = np.clip(end_s - first_s, 0.0, None)
    mu_s = patch_rate_per_h / 3600.0
    if mu_s > 0:
        span = -np.expm1(-mu_s * span) / mu_s
    span_s = float(np.sum(span))
    repeats = float(np.sum(counts - 1))
    if span_s <= 0 or repeats <= 0:
        return None
    lam = repeats / span_s
    return -lam / math.log1p(-monitored_addresses / IPV4_ADDRESSES)


def logistic(t_h: np.ndarray, k_total: float, k_per_h: float, t0_h: float) -> np.ndarray:
    return k_total / (1.0 + np.exp(-k_per_h * (t_h - t0_h)))


def expected_seen(t_h: np.ndarray, k_total: float, k_per_h: float, t0_h: float,
                  lam_per_h: float, step_h: float = 1 / 60, mu_per_h: float = 0.0) -> np.ndarray:
    """Expected distinct sources seen by each time in ``t_h`` (increasing) under the model.

    With removal at ``mu_per_h``, a host is seen only if it hits before it is removed: the
    not-yet-decided share decays at ``lam + mu`` and a share ``lam / (lam + mu)`` of it is seen.
    """
    start = min(t_h[0], t0_h - 12.0 / max(k_per_h, 1e-3))
    grid = np.arange(start, t_h[-1] + step_h, step_h)
    infected = logistic(grid, k_total, k_per_h, t0_h)
    new = np.diff(infected, prepend=infected[0])
    rate = lam_per_h + mu_per_h
    decay = math.exp(-rate * step_h)
    # undecided(t) = sum of new infections, each neither seen nor removed with probability
    # exp(-(lam + mu) * age): a first-order recursion, exact on the grid.
    from scipy.signal import lfilter

    undecided = lfilter([math.exp(-rate * step_h / 2)], [1.0, -decay], new)
    seen = (infected - undecided) * (lam_per_h / rate)
    return np.interp(t_h, grid, seen)


@dataclass
class Fit:
    k_total: float
    k_per_h: float
    t0_h: float

    def infected(self, t_h: np.ndarray | float) -> np.ndarray:
        return logistic(np.asarray(t_h, dtype=float), self.k_total, self.k_per_h, self.t0_h)


def fit_growth(first_h: np.ndarray, end_h: float, lam_per_h: float, points: int = 96,
               mu_per_h: float = 0.0) -> Fit:
    """Fit the logistic to the cumulative count of first sightings (times in hours)."""
    from scipy.optimize import curve_fit

    first_h = np.sort(first_h[first_h <= end_h])
    if first_h.size < 10:
        raise InputError(f"only {first_h.size} sources seen: too few to fit a growth curve "
                         "(need at least 10)")
    t_h = np.linspace(first_h[0], end_h, points)
    observed = np.searchsorted(first_h, t_h, side="right").astype(float)
    sigma = np.sqrt(np.maximum(observed, 1.0))
    final = observed[-1]
    rate = lam_per_h + mu_per_h
    p_end = lam_per_h / rate * -math.expm1(-rate * max(end_h - first_h[0], 1e-6))
    guess = (max(final / max(p_end, 1e-3), final * 1.05), 1.0,
             float(first_h[int(0.5 * (first_h.size - 1))]))

    def model(t, log_k, k_per_h, t0_h):
        return expected_seen(t, math.exp(log_k), k_per_h, t0_h, lam_per_h, mu_per_h=mu_per_h)

    lo = (math.log(final), 0.05, first_h[0] - 48.0)
    hi = (math.log(final * 1e4 + 10), 20.0, end_h + 48.0)
    p0 = (min(max(math.log(guess[0]), lo[0] + 1e-6), hi[0] - 1e-6), guess[1], guess[2])
    try:
        params, _ = curve_fit(model, t_h, observed, p0=p0, sigma=sigma, bounds=(lo, hi),
                              max_nfev=2000)
    except (RuntimeError, ValueError) as err:
        raise InputError(f"the growth curve did not fit these sightings: {err}") from None
    return Fit(math.exp(params[0]), float(params[1]), float(params[2]))


@dataclass
class Estimate:
    """The outbreak as inferred from one monitored block, with bootstrap intervals."""

    monitored_addresses: int
    probe_rate_per_s: float
    probe_rate_estimated: bool
    start_s: float
    end_s: float
    sources_seen: int
    fit: Fit
    infected_at_end: float
    infected_at_end_ci: tuple[float, float]
    plateau_ci: tuple[float, float]
    k_per_h_ci: tuple[float, float]
    hourly: list[dict] = field(default_factory=list)
    bootstrap: int = 0
    level: float = 0.95
    patch_rate_per_h: float = 0.0


def _ci(values: np.ndarray, level: float) -> tuple[float, float]:
    a = (1 - level) / 2
    return float(np.quantile(values, a)), float(np.quantile(values, 1 - a))


def infer_outbreak(first_s: np.ndarray, last_s: np.ndarray, counts: np.ndarray,
                   monitored_addresses: int, probe_rate_per_s: float | None = None,
                   end_s: float | None = None, bootstrap: int = 100, level: float = 0.95,
                   seed: int = 0, patch_rate_per_h: float = 0.0) -> Estimate:
    """Estimate the global infected count over time from per-source sightings (epoch seconds).

    ``patch_rate_per_h``: the rate at which an infected host stops scanning (patched, cleaned,
    unplugged), per host and hour; 0 assumes every host scans to the end of the window.
    """
    if not 0 < monitored_addresses <= 2**32:
        raise InputError("--monitored-addresses must be between 1 and 2^32")
    if not (math.isfinite(patch_rate_per_h) and patch_rate_per_h >= 0):
        raise InputError("--patch-rate-per-h must be a finite number >= 0")
    mu_h = float(patch_rate_per_h)
    first_s, last_s = np.asarray(first_s, float), np.asarray(last_s, float)
    counts = np.asarray(counts, float)
    if first_s.size == 0:
        raise InputError("no timed sightings to infer from")
    end = float(end_s if end_s is not None else last_s.max())
    keep = first_s <= end
    first_s, counts = first_s[keep], counts[keep]
    estimated = probe_rate_per_s is None
    rate = probe_rate_per_s
    if rate is None:
        rate = estimate_probe_rate_per_s(first_s, end, counts, monitored_addresses, mu_h)
        if rate is None:
            raise InputError("cannot estimate the probe rate (no source was seen twice); "
                             "give --probe-rate R")
    if rate <= 0:
        raise InputError("--probe-rate must be positive")
    origin = math.floor(first_s.min() / 3600) * 3600.0
    to_h = lambda t: (np.asarray(t, float) - origin) / 3600.0  # noqa: E731
    end_h = float(to_h(end))
    fit = fit_growth(to_h(first_s), end_h, hit_rate_per_s(rate, monitored_addresses) * 3600,
                     mu_per_h=mu_h)
    hours = np.arange(0.0, math.floor(end_h) + 1.0)
    hours = np.append(hours[hours < end_h], end_h)
    lam_h = hit_rate_per_s(rate, monitored_addresses) * 3600
    errors, params = _parametric_bootstrap(fit, end_h, lam_h, hours, estimated,
                                           monitored_addresses, bootstrap, seed, mu_h)
    seen_sorted = np.sort(to_h(first_s))
    central = fit.infected(hours)
    hourly = []
    for j, h in enumerate(hours):
        lo, hi = _basic_ci(central[j], errors[:, j], level)
        seen_by_h = int(np.searchsorted(seen_sorted, h, side="right"))
        lo = max(lo, float(seen_by_h))  # every source seen by then was infected
        hourly.append({"time": origin + h * 3600.0,
                       "sources_seen": seen_by_h,
                       "infected": float(central[j]), "infected_lo": lo, "infected_hi": hi})
    return Estimate(monitored_addresses, float(rate), estimated, float(first_s.min()), end,
                    int(first_s.size), fit, float(central[-1]),
                    (max(hourly[-1]["infected_lo"], 0.0), hourly[-1]["infected_hi"]),
                    _basic_ci(fit.k_total, params[:, 0] - fit.k_total, level),
                    _basic_ci(fit.k_per_h, params[:, 1] - fit.k_per_h, level),
                    hourly, len(errors), level, mu_h)


def _basic_ci(value: float, errors: np.ndarray, level: float) -> tuple[float, float]:
    """``value`` less the replicates' mean error, plus or minus t quantiles of their spread.

    A normal interval with Student's t for the replicate count: with tens of replicates the
    empirical 2.5% and 97.5% quantiles are too noisy and, on average, too narrow.
    """
    errors = errors[np.isfinite(errors)]
    if errors.size < 2:
        return value, value
    from scipy.stats import t as student_t

    half = float(student_t.ppf((1 + level) / 2, errors.size - 1)) * float(np.std(errors, ddof=1))
    centre = value - float(np.mean(errors))
    return max(centre - half, 0.0), centre + half


def _parametric_bootstrap(fit: Fit, end_h: float, lam_h: float, hours: np.ndarray,
                          estimate_rate: bool, monitored: int, replicates: int,
                          seed: int, mu_h: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Errors of the whole method on outbreaks drawn from the fitted model.

    Each replicate draws a Poisson(K) number of hosts with logistic infection times, their
    first sightings after an exponential delay (and repeat visits when the probe rate is
    estimated), runs the same estimator and records estimate minus that replicate's own truth
    at each hour. Unlike resampling the seen sources, this carries the fit's parameter
    uncertainty and the chance in how many hosts are still unseen.
    Returns (errors: replicates x hours, parameters: replicates x (K, k)).
    """
    rng = np.random.default_rng(seed)
    errors, params = [], []
    for _ in range(replicates):
        n = rng.poisson(fit.k_total)
        u = rng.random(n)
        tau = fit.t0_h + np.log(u / (1.0 - u)) / fit.k_per_h
        first = tau + rng.exponential(1.0 / lam_h, n)
        stop = tau + rng.exponential(1.0 / mu_h, n) if mu_h > 0 else np.full(n, np.inf)
        seen = (first <= end_h) & (first < stop)
        lam_b = lam_h
        if estimate_rate:
            scanning = np.minimum(stop[seen], end_h) - first[seen]
            counts = 1.0 + rng.poisson(lam_h * scanning)
            r_b = estimate_probe_rate_per_s(first[seen] * 3600.0, end_h * 3600.0, counts,
                                            monitored, mu_h)
            if r_b is None:
                continue
            lam_b = hit_rate_per_s(r_b, monitored) * 3600
        try:
            f_b = fit_growth(first[seen], end_h, lam_b, mu_per_h=mu_h)
        except InputError:
            continue
        truth = np.searchsorted(np.sort(tau), hours, side="right")
        errors.append(f_b.infected(hours) - truth)
        params.append((f_b.k_total, f_b.k_per_h))
    return (np.array(errors).reshape(-1, hours.size), np.array(params).reshape(-1, 2))


def estimate_dict(est: Estimate) -> dict:
    from wormlab.detect.sightings import iso

    return {
        "monitored_addresses": est.monitored_addresses,
        "probe_rate_per_s": est.probe_rate_per_s,
        "probe_rate_estimated": est.probe_rate_estimated,
        "patch_rate_per_h": est.patch_rate_per_h,
        "start": iso(est.start_s), "end": iso(est.end_s),
        "sources_seen": est.sources_seen,
        "infected_at_end": est.infected_at_end,
        "infected_at_end_ci": list(est.infected_at_end_ci),
        "plateau": est.fit.k_total, "plateau_ci": list(est.plateau_ci),
        "growth_rate_per_h": est.fit.k_per_h, "growth_rate_per_h_ci": list(est.k_per_h_ci),
        "midpoint": iso(est.start_s - (est.start_s % 3600) + est.fit.t0_h * 3600),
        "confidence_level": est.level, "bootstrap_fits": est.bootstrap,
        "hourly": [dict(h, time=iso(h["time"])) for h in est.hourly],
    }
