"""Helpers for the sweep tests: small scenarios, CLI subprocesses with bounded waits, table checks."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

SMALL_TOML = """
name = "small"
[time]
start = 2001-07-19T10:00:00Z
end = 2001-07-19T11:00:00Z
step_s = 1.0
[internet]
vulnerable_hosts = 2000
address_bits = 20
[worm]
probe_rate_per_s = 4.3
initial_infected = 2
[hosts]
mean_uptime_h = 1.0
"""

# Big enough (tens of ms a run) that a kill lands while the sweep is still running.
MEDIUM_TOML = SMALL_TOML.replace('name = "small"', 'name = "medium"').replace(
    "end = 2001-07-19T11:00:00Z", "end = 2001-07-19T12:00:00Z").replace(
    "vulnerable_hosts = 2000\naddress_bits = 20", "vulnerable_hosts = 20000\naddress_bits = 22")

SWEEP_TOML = """
scenario = "small.toml"
runs_per_point = 3
root_seed = 11
[grid]
"worm.probe_rate_per_s" = [2.0, 4.3]
hosts.mean_uptime_h = [1.0, 10.0]
"""

# wall_seconds is the one figure that is not a function of the seed
NONDETERMINISTIC = ["wall_seconds"]


def write_sweep(folder: Path, sweep_text: str = SWEEP_TOML, scenario_text: str = SMALL_TOML,
                scenario_name: str = "small.toml") -> Path:
    (folder / scenario_name).write_text(scenario_text)
    path = folder / "SWEEP.toml"
    path.write_text(sweep_text)
    return path


def wormlab_cmd(*args: str) -> list[str]:
    return [sys.executable, "-c", "from wormlab.cli import main; main()", *args]


def run_cli(*args: str, cwd: Path | None = None, timeout_s: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(wormlab_cmd(*args), cwd=cwd, capture_output=True, text=True, timeout=timeout_s)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate, timeout_s: float, what: str, poll_s: float = 0.05):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(poll_s)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


def finished(out: Path) -> list[Path]:
    folder = out / "summaries"
    return sorted(folder.glob("run-*.parquet")) if folder.is_dir() else []


def stamp(paths: list[Path]) -> dict[str, tuple[int, int]]:
    """inode and mtime of each file: a recomputed run would change them."""
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in paths}


def kill_group(proc: subprocess.Popen) -> None:
    """End a test's own process group (started with start_new_session) and reap it."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=30)


def comparable(frame, sort_by: list[str]):
    frame = frame.drop(columns=[c for c in NONDETERMINISTIC if c in frame]).sort_values(sort_by)
    return frame.reset_index(drop=True)


def cli_in_process(*args: str, cwd: Path | None = None) -> tuple[int, str, str]:
    """Run the CLI in this process (no interpreter start-up): status, stdout, stderr."""
    import contextlib
    import io

    from wormlab.cli import main

    out, err = io.StringIO(), io.StringIO()
    old = Path.cwd()
    try:
        if cwd is not None:
            os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(args))
    finally:
        os.chdir(old)
    return code, out.getvalue(), err.getvalue()
