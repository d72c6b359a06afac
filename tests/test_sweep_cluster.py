"""A sweep through --scheduler on a Dask cluster of separate processes on loopback."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from sweep_support import free_port, kill_group, run_cli, write_sweep

import wormlab
from wormlab import sweep


def _dask_cmd() -> str:
    beside = Path(sys.executable).parent / "dask"
    found = str(beside) if beside.exists() else shutil.which("dask")
    if not found:
        pytest.skip("the dask command is not installed")
    return found


def test_sweep_through_a_scheduler_and_two_worker_processes(tmp_path):
    dask = _dask_cmd()
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    common = dict(cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    procs = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard",
                               "--dashboard-address", "127.0.0.1:0", "--idle-timeout", "300"], **common)]
    try:
        for _ in range(2):
            procs.append(subprocess.Popen([dask, "worker", address, "--host", "127.0.0.1", "--nthreads", "1",
                                           "--nworkers", "1", "--no-dashboard", "--death-timeout", "60"], **common))
        write_sweep(tmp_path)
        proc = run_cli("sweep", "SWEEP.toml", "--scheduler", address, "--workers", "2", "--out", "out", "-q",
                       cwd=tmp_path, timeout_s=180)
        assert proc.returncode == 0, proc.stderr
    finally:
        for p in reversed(procs):
            kill_group(p)
    remote = sweep.load(tmp_path / "out")
    assert remote.summaries.run_index.tolist() == list(range(12))
    for i in range(12):  # each stored run is the run of its own seed, computed here
        here = wormlab.simulate(remote.plan.scenario_of(i), seed=remote.plan.seed_of(i)).timeseries
        stored = remote.timeseries[remote.timeseries.run_index == i].drop(columns=["run_index", "point_index"])
        pd.testing.assert_frame_equal(stored.reset_index(drop=True), here, check_dtype=False)
        assert remote.summaries.seed[i] == remote.plan.seed_of(i)
