"""Validate the built-in historical scenarios against the published record.

For each historical scenario that is built in, run an ensemble of seeds, measure each
quantity in every run, and compare the ensemble with the observation it stands for (from
``observations.toml``). A check passes when the ensemble **median** lies inside its acceptance
band; checks marked ``every_run`` (a hard fact of the worm, such as no spreading on day 20)
must hold in every run. Firm checks decide the verdict; soft checks are reported only.
The interval shown is the 5th to 95th percentile of the runs (a 90% interval).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from wormlab.history.observations import observation

ONSET_0719 = "2001-07-19T10:00:00Z"
MIDNIGHT_0720 = "2001-07-20T00:00:00Z"


@dataclass(frozen=True)
class Check:
    """One comparison: a per-run metric, the observation it tests, and its acceptance band."""

    name: str
    observation: str  # id in observations.toml
    metric: Callable  # (Result) -> float
    low: float | None  # acceptance band for the median (None = unbounded)
    high: float | None
    tolerance: str  # the band in words
    unit: str
    every_run: bool = False


@dataclass
class CheckResult:
    """The outcome of one check over an ensemble; ``to_dict`` is the ``--json`` contract."""

    scenario: str
    check: str
    observed: str
    source: str
    citation: str
    confidence: str
    tolerance: str
    unit: str
    runs: int
    simulated_median: float | None
    low: float | None
    high: float | None
    passed: bool | None
    note: str = ""

    def to_dict(self) -> dict:
        """JSON-ready; a value that is never reached (infinite) becomes null."""
        def num(v):
            return v if v is None or math.isfinite(v) else None

        return {
            "scenario": self.scenario, "check": self.check, "observed": self.observed,
            "source": self.citation, "confidence": self.confidence,
            "simulated_median": num(self.simulated_median), "low": num(self.low),
            "high": num(self.high),
            "tolerance": self.tolerance, "unit": self.unit, "runs": self.runs,
            "passed": self.passed, "note": self.note,
        }


# --- per-run metrics (from a Result's minute-by-minute time series) --------------------------


def _ts(res):
    return res.timeseries


def value_at(res, column: str, when: str) -> float:
    """``column`` in the last row at or before ``when`` (UTC)."""
    import pandas as pd

    ts = _ts(res)
    rows = ts[ts["time"] <= pd.Timestamp(when)]
    return float(rows[column].iloc[-1]) if len(rows) else float("nan")


def new_infections_after(res, when: str) -> float:
    """Infections in rows stamped after ``when`` (a row counts the interval that ends at it)."""
    import pandas as pd

    ts = _ts(res)
    return float(ts.loc[ts["time"] > pd.Timestamp(when), "new_infections"].sum())


def peak_per_minute(res) -> float:
    ts = _ts(res)
    row_s = (ts["time"].iloc[1] - ts["time"].iloc[0]).total_seconds()
    return float(ts["new_infections"].max() * 60.0 / row_s)


def hours_to_reach(res, count: float, since: str) -> float:
    """Hours from ``since`` until ever-infected first reaches ``count`` (inf if never)."""
    import pandas as pd

    ts = _ts(res)
    hit = ts.loc[ts["ever_infected"] >= count, "time"]
    if hit.empty:
        return math.inf
    return (hit.iloc[0] - pd.Timestamp(since)).total_seconds() / 3600.0


def early_doubling(res, unit_s: float = 60.0) -> float:
    """The engine summary's early doubling time (log-linear fit, 0.1%–2% of V), in ``unit_s``."""
    minutes = res.summary.get("early_doubling_minutes")
    return float(minutes) * 60.0 / unit_s if minutes else float("nan")


def peak_probe_rate(res) -> tuple[float, float]:
    """Peak of all hosts' probes per second, and the minutes until it first reaches 95% of that.

    A bandwidth-limited worm scans on a noisy plateau once links saturate, so "when the peak
    was reached" means when the plateau began, not where the noise happens to be highest.
    """
    ts = _ts(res)
    row_s = (ts["time"].iloc[1] - ts["time"].iloc[0]).total_seconds()
    rate = ts["probes_sent"].to_numpy() / row_s
    i = int(np.flatnonzero(rate >= 0.95 * rate.max())[0])
    return float(rate.max()), (ts["time"].iloc[i] - ts["time"].iloc[0]).total_seconds() / 60.0


def stopped_share(res, when: str) -> float:
    """Share of ever-infected hosts no longer infected (patched, rebooted) at ``when``."""
    ever = value_at(res, "ever_infected", when)
    return 1.0 - value_at(res, "infected", when) / ever if ever > 0 else float("nan")


def rcs_k_fit(res, until: str) -> float:
    """K of an RCS fit to the run's ever-infected curve up to ``until``."""
    import pandas as pd

    from wormlab.models.fitting import fit_rcs
    from wormlab.models.series import series_from_frame

    ts = _ts(res)
    part = ts[ts["time"] <= pd.Timestamp(until)]
    return fit_rcs(series_from_frame(part, res.scenario.name, "ever_infected")).value("K")


def share_within(res, minutes: float) -> float:
    """Share of the vulnerable population infected ``minutes`` after the start."""
    import pandas as pd

    start = _ts(res)["time"].iloc[0]
    when = (start + pd.Timedelta(minutes=minutes)).isoformat()
    return value_at(res, "ever_infected", when) / res.scenario.internet.vulnerable_hosts


def linear_fit(res, until: str) -> tuple[float, float]:
    """Ever-infected up to ``until``: (slope of a straight-line fit in hosts per hour, squared
    error of that fit over the squared error of an exponential fit). A static-seed worm (Code
    Red v1) finds new hosts only at the frontier of its shared address list, so its curve is near
    a straight line: the ratio is small (an exponential curve gives a ratio above 1)."""
    import pandas as pd

    ts = _ts(res)
    part = ts[ts["time"] < pd.Timestamp(until)]
    t_h = (part["time"] - part["time"].iloc[0]).dt.total_seconds().to_numpy() / 3600.0
    y = part["ever_infected"].to_numpy(dtype=float)
    lin = np.polyfit(t_h, y, 1)
    sse_lin = float(np.sum((np.polyval(lin, t_h) - y) ** 2))
    sse_exp = float(np.sum((np.exp(np.polyval(np.polyfit(t_h, np.log(y), 1), t_h)) - y) ** 2))
    return float(lin[0]), sse_lin / sse_exp if sse_exp > 0 else math.inf


def same_slash16(res) -> tuple[float, float]:
    """Infections whose source sits in the victim's /16: (their share, that share over the most
    uniform scanning could give).

    Under uniform scanning a victim's source is one of the hosts infected before it, drawn
    independently of the victim's address, so its chance of being in the victim's /16 is at most
    (other vulnerable hosts of that /16) / (hosts infected before the victim); the second figure
    divides the share by the mean of that bound.
    """
    hosts = res.hosts
    addr = hosts["address"].to_numpy().astype(np.int64)
    src = hosts["infected_by"].to_numpy()
    child = np.flatnonzero(src >= 0)
    if child.size == 0:
        return float("nan"), float("nan")
    same = (addr[src[child]] >> 16) == (addr[child] >> 16)
    _, inverse, counts = np.unique(addr >> 16, return_inverse=True, return_counts=True)
    neighbours = counts[inverse[child]] - 1
    when = hosts["infected_at"].to_numpy(dtype="datetime64[ns]")
    rank = np.argsort(np.argsort(when[child], kind="stable"), kind="stable")  # earlier victims
    seeds = int(np.sum((src < 0) & ~np.isnat(when)))  # the first hosts, infected at the start
    bound = np.minimum(neighbours / np.maximum(rank + seeds, 1), 1.0)
    share = float(same.mean())
    return share, share / float(bound.mean()) if bound.mean() > 0 else math.inf


def _band(value: float, rel: float) -> tuple[float, float]:
    return value * (1.0 - rel), value * (1.0 + rel)


def _checks() -> dict[str, list[Check]]:
    """The checks of each historical scenario; bands are ours, observed values are the sources'."""
    d37 = _band(observation("codered-0719.early_doubling").value, 0.25)
    aug = _band(observation("codered-0801.hosts").value, 0.30)
    d85 = _band(observation("slammer-0125.early_doubling").value, 0.20)
    slammer = _band(observation("slammer-0125.ever_infected").value, 0.20)
    return {
        "codered-2001-07-19": [
            Check("ever infected by 00:00 UTC 20 July", "codered-0719.ever_infected",
                  lambda r: value_at(r, "ever_infected", MIDNIGHT_0720), 359_000, None,
                  "> 359,000", "hosts"),
            Check("hours from onset to 359,000 infected", "codered-0719.time_to_reach",
                  lambda r: hours_to_reach(r, 359_000, ONSET_0719), None, 14.0, "< 14", "hours"),
            Check("peak new infections per minute", "codered-0719.peak_rate", peak_per_minute,
                  2_000, None, "> 2,000", "hosts/min"),
            Check("ever infected by 19:00 UTC (nine hours after onset)",
                  "codered-0719.first_nine_hours",
                  lambda r: value_at(r, "ever_infected", "2001-07-19T19:00:00Z"), 250_000, None,
                  "> 250,000", "hosts"),
            Check("new infections after 00:00 UTC 20 July", "codered-0719.spread_stops",
                  lambda r: new_infections_after(r, MIDNIGHT_0720), 0, 0, "0 in every run",
                  "hosts", every_run=True),
            Check("early doubling time", "codered-0719.early_doubling", early_doubling, *d37,
                  f"37 ± 25% ({d37[0]:.1f}–{d37[1]:.1f})", "min"),
            Check("share of infected hosts stopped by midnight", "codered-0719.stopped_before_midnight",
                  lambda r: stopped_share(r, MIDNIGHT_0720), 0.25, 0.75, "0.25–0.75", "fraction"),
            Check("RCS K fitted to 10:00–24:00 UTC", "codered-0719.rcs_k",
                  lambda r: rcs_k_fit(r, MIDNIGHT_0720), 1.2, 2.4, "1.2–2.4 (Code Red I fit)",
                  "per hour"),
        ],
        "codered-2001-08-01": [
            Check("ever infected by 00:00 UTC 2 August", "codered-0801.hosts",
                  lambda r: value_at(r, "ever_infected", "2001-08-02T00:00:00Z"), *aug,
                  "276,237 ± 30%", "hosts"),
        ],
        "warhol-2002-10-per-s": [
            Check("RCS K fitted to the simulated curve", "warhol.rcs_k",
                  lambda r: rcs_k_fit(r, "2001-07-01T12:00:00Z"), *_band(2.6, 0.10),
                  "2.6 ± 10%", "per hour"),
        ],
        "warhol-2002-100-per-s": [
            Check("hours until 99% of vulnerable hosts are infected", "warhol.fast_scan_time",
                  lambda r: hours_to_reach(r, 0.99 * r.scenario.internet.vulnerable_hosts,
                                           "2001-07-01T00:00:00Z"), None, 1.0, "< 1", "hours"),
        ],
        "codered-v1-2001-07-12": [
            Check("squared error of a straight-line fit over an exponential one, 12-19 July",
                  "codered-v1.static_seed", lambda r: linear_fit(r, V1_END)[1], None, 0.1,
                  "< 0.1 (near-linear)", "ratio"),
            Check("new hosts per hour (only the frontier finds any)", "codered-v1.static_seed",
                  lambda r: linear_fit(r, V1_END)[0], 1.0, 1.9,
                  "1.0–1.9 (4.3 × 400,000 / 2³² = 1.44)", "hosts/h"),
        ],
        "codered-ii-2001-08-04": [
            Check("share of infections from the victim's own /16, 00:00–03:00 UTC",
                  "codered-ii.local_preference", lambda r: same_slash16(r)[0], 0.2, None, "> 0.2",
                  "fraction"),
            Check("that share over the most uniform scanning could give",
                  "codered-ii.local_preference", lambda r: same_slash16(r)[1], 100.0, None,
                  "> 100 (far sooner)", "ratio"),
        ],
        "slammer-2003-01-25": [
            Check("early doubling time", "slammer-0125.early_doubling",
                  lambda r: early_doubling(r, unit_s=1.0), *d85, "8.5 s ± 20%", "s"),
            Check("ever infected", "slammer-0125.ever_infected",
                  lambda r: float(r.timeseries["ever_infected"].iloc[-1]), *slammer,
                  "75,000 ± 20% (V is an input)", "hosts"),
            Check("peak aggregate scan rate", "slammer-0125.peak_scan_rate",
                  lambda r: peak_probe_rate(r)[0], 55e6, 55e6 * 1.3, "55–71.5 million (> 55, + 30%)",
                  "probes/s"),
            Check("minutes until the scan rate is within 5% of its peak", "slammer-0125.peak_scan_time",
                  lambda r: peak_probe_rate(r)[1], 1.5, 4.5, "3 ± 50% (1.5–4.5)", "min"),
            Check("share of vulnerable infected within 10 minutes",
                  "slammer-0125.share_in_ten_minutes", lambda r: share_within(r, 10), 0.90, None,
                  "> 0.90", "fraction"),
        ],
    }


HISTORICAL = ("codered-2001-07-19", "codered-2001-08-01", "slammer-2003-01-25",
              "codered-v1-2001-07-12", "codered-ii-2001-08-04")
V1_END = "2001-07-19T10:00:00Z"  # Code Red v1's week, until v2 took over
# Scenarios run in a shorter window, or with fewer seeds, to keep ``wormlab validate`` quick.
WINDOW = {"codered-ii-2001-08-04": ("time.end=2001-08-04T03:00:00Z",)}
MAX_RUNS = {"codered-v1-2001-07-12": 5, "codered-ii-2001-08-04": 5}


def warhol_scenario(probe_rate_per_s: float) -> dict:
    """Staniford et al.'s simulated worm: 300,000 vulnerable hosts scanning uniformly (2^32)."""
    return {
        "name": f"warhol-2002-{probe_rate_per_s:g}-per-s",
        "time": {"start": "2001-07-01T00:00:00Z", "end": "2001-07-01T12:00:00Z",
                 "step_s": 1.0, "record_every_s": 60.0},
        "internet": {"vulnerable_hosts": int(observation("warhol.vulnerable_hosts").value)},
        "worm": {"probe_rate_per_s": probe_rate_per_s, "initial_infected": 10},
    }


# Model-to-model checks: scenarios built here from the published inputs, not shipped as files.
SYNTHETIC = {
    "warhol-2002-10-per-s": lambda: warhol_scenario(observation("warhol.probe_rate").value),
    "warhol-2002-100-per-s": lambda: warhol_scenario(100.0),
}


def _scenario(name: str, overrides: tuple[str, ...]):
    """A built-in historical scenario (with overrides), or a synthetic one (overrides unused)."""
    import wormlab
    from wormlab.scenario import scenario_from_dict

    if name in SYNTHETIC:
        return scenario_from_dict(SYNTHETIC[name](), origin=name)
    return wormlab.load_scenario(name, overrides=[*WINDOW.get(name, ()), *overrides])


def _run_one(args: tuple[str, int, tuple[str, ...]]) -> tuple[list[float], list[float]]:
    """One seed of one scenario: every check's metric, and the ever-infected curve (for figures)."""
    import wormlab

    name, seed, overrides = args
    res = wormlab.simulate(_scenario(name, overrides), seed=seed)
    values = [float(c.metric(res)) for c in _checks()[name]]
    return values, res.timeseries["ever_infected"].tolist()


def run_ensemble(name: str, runs: int, workers: int = 1, seed0: int = 1,
                 overrides: tuple[str, ...] = ()):
    """Metrics (runs × checks) and ever-infected curves (runs × rows) for seeds seed0…"""
    jobs = [(name, seed0 + i, tuple(overrides)) for i in range(runs)]
    if workers > 1 and runs > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=workers) as pool:
            out = list(pool.map(_run_one, jobs))
    else:
        out = [_run_one(job) for job in jobs]
    return np.array([o[0] for o in out]), np.array([o[1] for o in out])


def evaluate(name: str, checks: list[Check], metrics: np.ndarray) -> list[CheckResult]:
    """Turn an ensemble's metrics into pass/fail lines."""
    results = []
    for j, check in enumerate(checks):
        obs = observation(check.observation)
        col = metrics[:, j]
        finite = col[~np.isnan(col)]
        if finite.size == 0:
            median = lo = hi = None
            passed, note = False, "not measurable in these runs"
        else:
            # "never" (inf) is a legitimate outcome; interpolating across it would give NaN.
            method = "linear" if np.isfinite(finite).all() else "nearest"
            median = float(np.quantile(finite, 0.5, method=method))
            lo, hi = (float(q) for q in np.quantile(finite, [0.05, 0.95], method=method))
            inside = _inside(finite if check.every_run else np.array([median]), check)
            passed, note = bool(inside.all()), ""
            if finite.size < col.size:
                note = f"{col.size - finite.size} run(s) not measurable"
        results.append(CheckResult(
            scenario=name, check=check.name, observed=obs.describe(), source=obs.source_short,
            citation=obs.citation, confidence=obs.confidence, tolerance=check.tolerance,
            unit=check.unit, runs=int(col.size), simulated_median=median, low=lo, high=hi,
            passed=passed, note=note,
        ))
    return results


def _inside(values: np.ndarray, check: Check) -> np.ndarray:
    ok = np.ones(values.shape, dtype=bool)
    if check.low is not None:
        ok &= values >= check.low if check.every_run else values > check.low
    if check.high is not None:
        ok &= values <= check.high if check.every_run else values < check.high
    return ok


def validate(runs: int = 20, workers: int | None = None, seed0: int = 1, keep_curves: bool = False,
             overrides: list[str] | None = None):
    """Validate every built-in historical scenario; returns (results, curves by scenario).

    A historical scenario that is not built in yet gets one line with ``passed`` None.
    ``overrides`` (``worm.probe_rate_per_s=2``…) apply to every built-in scenario (not to the
    synthetic Warhol ones): a way to see which checks a mis-calibration breaks.
    """
    from wormlab.errors import InputError
    from wormlab.scenario import builtin_names

    if runs < 1:
        raise InputError(f"--runs must be at least 1, got {runs}")
    # One run takes a fraction of a second, so worker processes (start-up, JIT cache load)
    # cost more than they save at the default ensemble size: serial unless asked.
    workers = 1 if workers is None else max(1, min(workers, os.cpu_count() or 1))
    available = set(builtin_names())
    checks = _checks()
    results: list[CheckResult] = []
    curves = {}
    for name in HISTORICAL + tuple(SYNTHETIC):
        if name not in available and name not in SYNTHETIC:
            results.append(_skipped(name, checks[name]))
            continue
        metrics, ever = run_ensemble(name, min(runs, MAX_RUNS.get(name, runs)), workers, seed0,
                                     tuple(overrides or ()))
        results.extend(evaluate(name, checks[name], metrics))
        if keep_curves:
            curves[name] = ever
    return results, curves


def _skipped(name: str, checks: list[Check]) -> CheckResult:
    obs = [observation(c.observation) for c in checks]
    return CheckResult(
        scenario=name, check="; ".join(c.name for c in checks),
        observed="; ".join(o.describe() for o in obs), source=obs[0].source_short,
        citation=obs[0].citation, confidence="/".join(sorted({o.confidence for o in obs})),
        tolerance="; ".join(c.tolerance for c in checks), unit="", runs=0,
        simulated_median=None, low=None, high=None, passed=None,
        note=f"scenario {name!r} is not built in yet: not checked",
    )


def verdict(results: list[CheckResult]) -> bool:
    """True when every firm check that ran passed (soft ones are reported, not failed)."""
    return all(r.passed for r in results if r.confidence == "firm" and r.passed is not None)


def format_table(results: list[CheckResult]) -> str:
    """The plain-text table that ``wormlab validate`` prints."""
    head = ("quantity", "observed (source)", "simulated median [90%]", "tolerance", "result")
    rows = [head]
    last = None
    for r in results:
        if r.scenario != last:
            rows.append((f"{r.scenario}:", "", "", "", ""))
            last = r.scenario
        if r.passed is None:
            rows.append(("  (not run)", "-", "-", "-", "skipped: " + r.note))
            continue
        sim = "n/a" if r.simulated_median is None else (
            f"{_fmt(r.simulated_median)} [{_fmt(r.low)}, {_fmt(r.high)}]")
        mark = ("PASS" if r.passed else "FAIL") if r.confidence == "firm" else (
            "ok (soft)" if r.passed else "off (soft)")
        rows.append((f"  {r.check} [{r.unit}]", f"{r.observed} ({r.source}, {r.confidence})",
                     sim, r.tolerance, mark + (f" — {r.note}" if r.note else "")))
    widths = [max(len(row[i]) for row in rows) for i in range(len(head) - 1)]
    lines = []
    for k, row in enumerate(rows):
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths)) + "  " + row[-1])
        if k == 0:
            lines.append("  ".join("-" * w for w in widths) + "  " + "-" * 6)
    return "\n".join(lines)


def _fmt(value: float | None) -> str:
    if value is None:
        return "n/a"
    if math.isinf(value):
        return "never"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}"
