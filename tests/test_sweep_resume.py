"""Resume: SIGKILL of the client or of a worker loses no finished run and recomputes none."""

from __future__ import annotations

import subprocess

import psutil
import pyarrow.parquet as pq
from sweep_support import (
    MEDIUM_TOML,
    finished,
    kill_group,
    stamp,
    wait_for,
    wormlab_cmd,
    write_sweep,
)

import wormlab
from wormlab import sweep


def _sweep_text(runs: int) -> str:
    return (f'scenario = "medium.toml"\nruns_per_point = {runs // 2}\nroot_seed = 2\n'
            '[grid]\n"worm.probe_rate_per_s" = [3.0, 4.3]\n')


def _start(folder, workers: int) -> subprocess.Popen:
    args = wormlab_cmd("sweep", "SWEEP.toml", "--workers", str(workers), "--out", "out", "-q")
    return subprocess.Popen(args, cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def _assert_complete_and_sound(out, kept: dict, stderr: str, runs: int) -> None:
    if len(kept) < runs:
        assert f"resuming: {len(kept)} of {runs} runs already finished, {runs - len(kept)} to run" in stderr
    else:
        assert f"all {runs} of {runs} runs already finished" in stderr
    files = finished(out)
    assert len(files) == runs
    assert {k: v for k, v in stamp(files).items() if k in kept} == kept  # none recomputed
    assert not list(out.rglob("*.part"))
    for path in files + sorted((out / "timeseries").glob("run-*.parquet")):
        pq.read_table(path)  # every file whole
    tables = sweep.load(out)
    assert tables.summaries.run_index.tolist() == list(range(runs))
    assert tables.timeseries.run_index.nunique() == runs and tables.failures.empty
    for i in (0, runs - 1):  # a stored run equals the run of its seed
        row = tables.summaries.iloc[i]
        assert wormlab.simulate(tables.plan.scenario_of(i), seed=int(row.seed)).summary["ever_infected"] == row.ever_infected


def test_sigkill_of_the_client_then_resume(tmp_path):
    runs = 60
    write_sweep(tmp_path, _sweep_text(runs), MEDIUM_TOML, "medium.toml")
    out = tmp_path / "out"
    proc = _start(tmp_path, workers=1)
    try:
        wait_for(lambda: len(finished(out)) >= 5, 90, "five finished runs")
        proc.kill()  # SIGKILL of the client, mid-sweep
    finally:
        kill_group(proc)  # and whatever it had started
    kept = stamp(finished(out))
    assert 5 <= len(kept) < runs, "the kill must land mid-sweep"
    resumed = subprocess.run(wormlab_cmd("sweep", "SWEEP.toml", "--workers", "1", "--out", "out"), cwd=tmp_path,
                             capture_output=True, text=True, timeout=180)
    assert resumed.returncode == 0, resumed.stderr
    _assert_complete_and_sound(out, kept, resumed.stderr, runs)


def test_sigkill_of_a_worker_then_resume(tmp_path):
    runs = 60
    write_sweep(tmp_path, _sweep_text(runs), MEDIUM_TOML, "medium.toml")
    out = tmp_path / "out"
    proc = _start(tmp_path, workers=2)
    try:
        wait_for(lambda: len(finished(out)) >= 5, 90, "five finished runs")
        workers = [p for p in psutil.Process(proc.pid).children(recursive=True)
                   if "spawn_main" in " ".join(p.cmdline())]
        assert workers, "no worker processes found"
        workers[0].kill()  # SIGKILL of one worker, mid-sweep
        killed_at = len(finished(out))
        status = proc.wait(timeout=180)  # Dask reschedules its runs on a fresh worker; the sweep goes on
    finally:
        kill_group(proc)
    assert killed_at < runs, "the kill must land mid-sweep"
    assert status == 0, proc.stderr.read()
    kept = stamp(finished(out))
    again = subprocess.run(wormlab_cmd("sweep", "SWEEP.toml", "--workers", "2", "--out", "out"), cwd=tmp_path,
                           capture_output=True, text=True, timeout=180)
    assert again.returncode == 0, again.stderr
    _assert_complete_and_sound(out, kept, again.stderr, runs)
