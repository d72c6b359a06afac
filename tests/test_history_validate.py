"""`wormlab validate`: the verdict logic on synthetic ensembles, and the command end to end."""

from __future__ import annotations

import json

import numpy as np

from wormlab.cli import main
from wormlab.history.validate import Check, _checks, _run_one, evaluate, verdict


def _check(low=None, high=None, every_run=False, obs="codered-0719.peak_rate"):
    return Check("x", obs, lambda r: 0.0, low, high, "band", "u", every_run=every_run)


def test_median_decides_unless_every_run_is_required():
    metrics = np.array([[1.0], [5.0], [6.0], [7.0], [9.0]])
    (ok,) = evaluate("s", [_check(low=4.0)], metrics)
    assert ok.passed and ok.simulated_median == 6.0 and ok.low < 6.0 < ok.high
    (strict,) = evaluate("s", [_check(low=4.0, every_run=True)], metrics)
    assert not strict.passed  # one run at 1.0 is below the band
    (upper,) = evaluate("s", [_check(high=5.0)], metrics)
    assert not upper.passed


def test_unmeasurable_runs_fail_with_a_note():
    (r,) = evaluate("s", [_check(low=0.0)], np.array([[np.nan], [np.nan]]))
    assert r.passed is False and "not measurable" in r.note


def test_soft_failures_do_not_change_the_verdict():
    metrics = np.array([[3000.0, 0.1], [3100.0, 0.1], [2900.0, 0.1]])
    checks = [_check(low=2000.0), _check(low=0.25, high=0.75, obs="codered-0719.stopped_before_midnight")]
    firm, soft = evaluate("s", checks, metrics)
    assert firm.passed and firm.confidence == "firm"
    assert not soft.passed and soft.confidence == "soft"
    assert verdict([firm, soft])
    assert not verdict(evaluate("s", [_check(low=5000.0)], metrics))


def test_every_check_points_at_a_real_observation():
    for checks in _checks().values():
        for check in checks:
            evaluate("s", [check], np.array([[1.0]]))  # raises if the observation id is unknown


def test_validate_command_json_contract(capsys):
    code = main(["validate", "--runs", "3", "--json"])
    out, _ = capsys.readouterr()
    doc = json.loads(out)
    keys = {"check", "observed", "source", "confidence", "simulated_median", "low", "high", "passed"}
    assert all(keys <= set(item) for item in doc)
    ran = [d for d in doc if d["passed"] is not None]
    assert {d["scenario"] for d in ran} >= {"codered-2001-07-19"}
    firm_ok = all(d["passed"] for d in ran if d["confidence"] == "firm")
    assert code == (0 if firm_ok else 2)


def test_a_miscalibrated_worm_fails_validation(capsys):
    code = main(["validate", "--runs", "2", "--json", "--set", "worm.probe_rate_per_s=2.0"])
    out, err = capsys.readouterr()
    failed = {d["check"] for d in json.loads(out) if d["passed"] is False and d["confidence"] == "firm"}
    assert code == 2
    assert "peak new infections per minute" in failed
    assert err.startswith("error: validation failed") and "peak new infections" in err


def test_bad_runs_exit_2(capsys):
    assert main(["validate", "--runs", "0"]) == 2
    assert "--runs" in capsys.readouterr().err


def _fake_result(minutes: int, V: int, name: str, start: str = "2003-01-25T05:30:00Z"):
    """A Result-shaped object: a logistic outbreak sampled each minute."""
    from types import SimpleNamespace

    import pandas as pd

    from wormlab.models.rcs import rcs_fraction

    times = pd.date_range(start, periods=minutes, freq="min")
    ever = np.round(V * rcs_fraction(np.arange(minutes) / 60.0, 30.0, 0.1))
    ts = pd.DataFrame({"time": times, "ever_infected": ever, "infected": ever,
                       "new_infections": np.diff(ever, prepend=ever[0])})
    sc = SimpleNamespace(name=name, internet=SimpleNamespace(vulnerable_hosts=V))
    return SimpleNamespace(timeseries=ts, scenario=sc, summary={"early_doubling_minutes": 0.14})


def test_checks_of_scenarios_not_built_in_yet_can_measure_a_run():
    # Slammer's and 1 August's checks wait for their scenarios; their metrics must already work.
    checks = {c.observation: c for c in _checks()["slammer-2003-01-25"]}
    res = _fake_result(30, 75_000, "slammer-2003-01-25")
    from wormlab.models.rcs import rcs_fraction

    expected = rcs_fraction(10 / 60, 30.0, 0.1)  # the fake's share ten minutes in
    assert abs(checks["slammer-0125.share_in_ten_minutes"].metric(res) - expected) < 1e-4
    assert checks["slammer-0125.ever_infected"].metric(res) == res.timeseries["ever_infected"].iloc[-1]
    assert checks["slammer-0125.early_doubling"].metric(res) == 0.14 * 60
    # Scanning saturates: the plateau starts at minute 5 though its noisy maximum is later.
    res.timeseries["probes_sent"] = np.minimum(np.arange(30) / 5, 1.0) * 60e6 * 60  # per minute
    res.timeseries.loc[20, "probes_sent"] = 61e6 * 60
    assert checks["slammer-0125.peak_scan_rate"].metric(res) == 61e6
    assert checks["slammer-0125.peak_scan_time"].metric(res) == 5.0
    import pandas as pd

    (aug,) = _checks()["codered-2001-08-01"]
    res = _fake_result(48 * 60, 280_000, "codered-2001-08-01", start="2001-08-01T00:00:00Z")
    midnight = res.timeseries["time"] == pd.Timestamp("2001-08-02T00:00:00Z")
    assert aug.metric(res) == res.timeseries.loc[midnight, "ever_infected"].item()


def test_code_red_ii_locality_checks_tell_local_from_uniform_scanning():
    name = "codered-ii-2001-08-04"
    checks = _checks()[name]
    local, _ = _run_one((name, 1, ()))
    uniform, _ = _run_one((name, 1, ('worm.scan="uniform"',)))
    assert all(r.passed for r in evaluate(name, checks, np.array([local])))
    assert not any(r.passed for r in evaluate(name, checks, np.array([uniform])))


def test_code_red_v1_linearity_check_tells_static_seed_from_uniform_scanning():
    name = "codered-v1-2001-07-12"
    checks = _checks()[name]
    static, _ = _run_one((name, 1, ()))
    assert all(r.passed for r in evaluate(name, checks, np.array([static])))
    # the same worm with a random seed grows exponentially: neither check holds
    uniform, _ = _run_one((name, 1, ('worm.scan="uniform"', "time.end=2001-07-12T06:00:00Z")))
    assert not any(r.passed for r in evaluate(name, checks, np.array([uniform])))
