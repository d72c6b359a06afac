"""Sweeps and ensembles on Dask: determinism across worker counts, failures, bad input."""

from __future__ import annotations

import time

import pandas as pd
import pytest
from sweep_support import cli_in_process, comparable, free_port, run_cli, write_sweep

from wormlab import sweep
from wormlab.sweep import runner
from wormlab.sweep.spec import load_sweep_file


@pytest.fixture(scope="module")
def one_worker_sweep(tmp_path_factory):
    """The reference: the small sweep on one local worker, through the CLI."""
    folder = tmp_path_factory.mktemp("sweep1")
    write_sweep(folder)
    proc = run_cli("sweep", "SWEEP.toml", "--workers", "1", "--out", "out", cwd=folder)
    assert proc.returncode == 0, proc.stderr
    return folder / "out", proc


def test_one_and_two_workers_give_identical_tables(one_worker_sweep, tmp_path):
    out1, proc = one_worker_sweep
    assert "per parameter point" in proc.stdout
    write_sweep(tmp_path)
    proc2 = run_cli("sweep", "SWEEP.toml", "--workers", "2", "--out", "out", "-q", cwd=tmp_path)
    assert proc2.returncode == 0, proc2.stderr
    a, b = sweep.load(out1), sweep.load(tmp_path / "out")
    assert len(a.summaries) == 12 and a.summaries.run_index.tolist() == list(range(12))
    pd.testing.assert_frame_equal(comparable(a.summaries, ["run_index"]), comparable(b.summaries, ["run_index"]))
    pd.testing.assert_frame_equal(comparable(a.timeseries, ["run_index", "time"]),
                                  comparable(b.timeseries, ["run_index", "time"]))
    assert a.summaries.loc[5, "worm_probe_rate_per_s"] == 2.0 and a.summaries.loc[5, "hosts_mean_uptime_h"] == 10.0


def test_stored_run_is_the_single_run_of_its_seed(one_worker_sweep):
    import wormlab

    tables = sweep.load(one_worker_sweep[0])
    row = tables.summaries.iloc[7]
    result = wormlab.simulate(tables.plan.scenario_of(7), seed=int(row.seed))
    assert result.summary["ever_infected"] == row.ever_infected
    stored = tables.timeseries[tables.timeseries.run_index == 7].drop(columns=["run_index", "point_index"])
    pd.testing.assert_frame_equal(stored.reset_index(drop=True), result.timeseries, check_dtype=False)
    assert len(tables.runs()) == 12 and tables.parameters["worm.probe_rate_per_s"][0] == 2.0


def test_query_prints_table_and_csv(one_worker_sweep):
    out = one_worker_sweep[0]
    code, stdout, stderr = cli_in_process(
        "query", str(out), "SELECT point_index, count(*) AS n FROM summaries GROUP BY 1 ORDER BY 1", "--csv")
    assert code == 0, stderr
    assert stdout.splitlines() == ["point_index,n", "0,3", "1,3", "2,3", "3,3"]
    code, stdout, _ = cli_in_process("query", str(out), "SELECT count(DISTINCT run_index) AS runs FROM timeseries")
    assert code == 0 and "12" in stdout
    code, stdout, _ = cli_in_process("query", str(out))  # lists the views and their columns
    assert code == 0 and all(view in stdout for view in ("summaries", "timeseries", "failures", "points"))
    code, _, stderr = cli_in_process("query", str(out), "SELECT nope FROM summaries")
    assert code == 2 and stderr.startswith("error: query failed")


def test_rerunning_a_finished_sweep_computes_nothing(one_worker_sweep):
    out = one_worker_sweep[0]
    before = {p.name: p.stat().st_mtime_ns for p in (out / "summaries").iterdir()}
    code, _, stderr = cli_in_process("sweep", "SWEEP.toml", "--workers", "1", "--out", "out", cwd=out.parent)
    assert code == 0 and "all 12 of 12 runs already finished" in stderr
    assert before == {p.name: p.stat().st_mtime_ns for p in (out / "summaries").iterdir()}


def test_failing_run_is_recorded_and_rerun_by_index(tmp_path, monkeypatch):
    from distributed import Client, LocalCluster

    plan, _ = load_sweep_file(write_sweep(tmp_path))
    bad_seed = plan.seed_of(4)
    real = runner._simulate

    def flaky(scenario, seed):
        if seed == bad_seed:
            raise RuntimeError("disk on fire")
        return real(scenario, seed)

    monkeypatch.setattr(runner, "_simulate", flaky)
    # threads in this process (so the patch applies), every socket on loopback
    loopback = dict(host="127.0.0.1", protocol="tcp://", scheduler_kwargs={"dashboard_address": "127.0.0.1:0"})
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None, **loopback) as cluster, \
            Client(cluster, set_as_default=False) as client:
        outcome = runner.run_sweep(plan, tmp_path / "out", client=client)
    assert outcome.failed == [4] and len(outcome.succeeded) == 11 and not outcome.complete
    failures = sweep.load(tmp_path / "out").failures
    assert failures.run_index.tolist() == [4] and failures.seed.tolist() == [bad_seed]
    assert failures.error.tolist() == ["disk on fire"] and "RuntimeError" in failures.traceback[0]

    monkeypatch.setattr(runner, "_simulate", real)  # the cause is fixed: run 4 alone
    code, _, stderr = cli_in_process("rerun", str(tmp_path / "out"), "4")
    assert code == 0 and "run 4 (seed" in stderr
    tables = sweep.load(tmp_path / "out")
    assert tables.failures.empty and tables.summaries.run_index.tolist() == list(range(12))
    assert tables.summaries.seed[4] == bad_seed


def test_ensemble_run_is_stored_like_a_sweep(tmp_path):
    write_sweep(tmp_path)
    proc = run_cli("run", "small.toml", "--runs", "4", "--seed", "5", "--workers", "1", "--out", "ens",
                   "--set", "worm.initial_infected=3", "-q", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    tables = sweep.load(tmp_path / "ens")
    assert tables.summaries.run_index.tolist() == [0, 1, 2, 3]
    assert tables.plan.root_seed == 5 and tables.plan.scenario["worm"]["initial_infected"] == 3
    assert tables.timeseries.groupby("run_index").size().nunique() == 1
    code, _, stderr = cli_in_process("run", "small.toml", "--runs", "5", "--seed", "5", "--out", "ens", cwd=tmp_path)
    assert code == 2 and "different sweep definition" in stderr


def test_unreachable_scheduler_fails_fast_with_exit_2(tmp_path):
    write_sweep(tmp_path)
    port = free_port()  # nothing listens there
    t0 = time.monotonic()
    proc = run_cli("sweep", "SWEEP.toml", "--scheduler", f"tcp://127.0.0.1:{port}", "--out", "out", cwd=tmp_path,
                   timeout_s=30)
    assert time.monotonic() - t0 < 10
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"error: cannot reach the Dask scheduler at tcp://127.0.0.1:{port}")
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("args, message", [
    (["sweep", "SWEEP.toml", "--scheduler", "127.0.0.1"], "expected an address like tcp://HOST:8786"),
    (["rerun", "out", "99"], "not a sweep directory"),
])
def test_bad_cli_input_exits_2(tmp_path, args, message):
    write_sweep(tmp_path)
    code, _, stderr = cli_in_process(*args, cwd=tmp_path)
    assert code == 2 and message in stderr
