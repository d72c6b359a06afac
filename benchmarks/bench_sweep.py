"""Benchmark ensembles on Dask: runs per minute, speedup from 1 to 2 workers, overhead per run.

    python benchmarks/bench_sweep.py [--runs 1000] [--workers 1,2] [--scenario codered-2001-07-19]

For each worker count, an ensemble of ``--runs`` seeds is run into a fresh temporary sweep
directory on a local Dask cluster (loopback, no dashboard). The clock starts once the workers
are up and have loaded the compiled kernel, and stops when the last run is on disk.

Overhead per run = (workers x elapsed - sum of simulate() time inside the tasks) / sum of
simulate() time: scheduling, Parquet encoding, moving bytes to the client, writing files, and
workers left idle at the end, as a share of the simulation itself. The share of a core each
worker had while simulating (CPU time / wall time) shows when other processes took the cores, in
which case the speedup says more about the machine than about the sweep. Not a test: numbers
depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path


def bench(scenario: str, runs: int, workers: int, root: Path) -> dict:
    from wormlab.sweep.runner import dask_client, run_sweep
    from wormlab.sweep.spec import ensemble_plan

    plan = ensemble_plan(scenario, runs, root_seed=0)
    out = root / f"w{workers}"
    t0 = time.perf_counter()
    with dask_client(workers=workers) as client:  # warm-up plugin has run when this returns
        startup_s = time.perf_counter() - t0
        outcome = run_sweep(plan, out, client=client)
    if len(outcome.succeeded) != runs:
        from wormlab.sweep.store import load

        failures = load(out, timeseries=False).failures
        first = failures.error.iloc[0] if len(failures) else outcome.lost_error
        raise SystemExit(f"workers={workers}: {len(outcome.failed)} runs failed, {len(outcome.lost)} lost; "
                         f"first: {first}")
    busy_s = workers * outcome.elapsed_s
    return {
        "workers": workers,
        "elapsed_s": outcome.elapsed_s,
        "startup_s": startup_s,
        "runs_per_min": runs / outcome.elapsed_s * 60,
        "run_s": outcome.run_s / runs,
        "encode_s": outcome.encode_s / runs,
        "write_s": outcome.write_s / runs,
        "overhead_share": (busy_s - outcome.run_s) / outcome.run_s,
        "core_share": outcome.cpu_s / outcome.run_s,
        "store_bytes": sum(p.stat().st_size for p in out.rglob("*.parquet")),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    parser.add_argument("--scenario", default="codered-2001-07-19")
    parser.add_argument("--keep", type=Path, help="keep the sweep directories here")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="bench-sweep-"))
    root.mkdir(parents=True, exist_ok=True)
    print(f"{args.runs} runs of {args.scenario}; {os.cpu_count()} cores; load average "
          f"{os.getloadavg()[0]:.1f} at start")
    rows = []
    try:
        for w in [int(x) for x in args.workers.split(",")]:
            row = bench(args.scenario, args.runs, w, root)
            rows.append(row)
            print(f"workers={w}: {row['runs_per_min']:7.1f} runs/min  elapsed {row['elapsed_s']:7.1f} s "
                  f"(+{row['startup_s']:.1f} s cluster start and warm-up)  simulate {row['run_s'] * 1e3:6.1f} ms/run  "
                  f"encode {row['encode_s'] * 1e3:5.1f} ms/run  write {row['write_s'] * 1e3:5.2f} ms/run  "
                  f"overhead {row['overhead_share']:6.1%} of run time  store {row['store_bytes'] / 2**20:.0f} MiB  "
                  f"(each worker had {row['core_share']:.0%} of a core while simulating)",
                  flush=True)
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    if len(rows) >= 2:
        print(f"speedup {rows[0]['workers']} -> {rows[-1]['workers']} workers: "
              f"{rows[0]['elapsed_s'] / rows[-1]['elapsed_s']:.2f}x")
    print(f"load average {os.getloadavg()[0]:.1f} at end")


if __name__ == "__main__":
    main()
