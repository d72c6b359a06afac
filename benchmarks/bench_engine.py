"""Speed and memory of the engine against the targets of the foundation issue.

Prints, for the whole codered-2001-07-19 window (10:00 UTC 19 July .. 24:00 UTC 20 July, 1 s steps):
  * one-time JIT compilation (in a fresh process with an empty Numba cache), reported apart;
  * wall time of one run (best of N), target <= 0.25 s;
  * effective probes per second (probes simulated / wall) and the ratio against a plain per-probe
    NumPy loop (random address, bitmap look-up) timed on a slice of work in this same run,
    target >= 10,000x;
  * a 10-million-host population through the same window: wall (target <= 5 s) and peak RSS per
    vulnerable host (target <= 200 bytes), each measured in a child process;
  * ``wormlab --help`` latency (target <= 0.5 s).

Usage: python benchmarks/bench_engine.py [--repeats 5] [--big-hosts 10000000] [--slice-probes 50000000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

CHILD_BIG = r"""
import json, resource, sys, time
import wormlab
from wormlab.engine.simulate import warm_up
warm_up()

def current_rss():
    with open("/proc/self/status") as fh:
        return next(int(l.split()[1]) * 1024 for l in fh if l.startswith("VmRSS:"))

base = current_rss()
sc = wormlab.load_scenario("codered-2001-07-19", overrides=[f"internet.vulnerable_hosts={int(sys.argv[1])}"])
t = time.perf_counter()
res = wormlab.simulate(sc, seed=1)
wall = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
t = time.perf_counter()
n_rows = len(res.hosts)  # the per-host table is built on first use: timed and measured apart
table_s = time.perf_counter() - t
peak_with_table = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"wall_s": wall, "peak_rss_bytes": peak, "base_rss_bytes": base, "table_s": table_s,
                  "peak_with_table_bytes": peak_with_table,
                  "ever_infected": res.summary["ever_infected"], "probes": res.summary["probes_total"]}))
"""

CHILD_JIT = r"""
import time
t = time.perf_counter()
from wormlab.engine.simulate import warm_up
warm_up()
print(time.perf_counter() - t)
"""


def per_probe_loop_rate(addresses, n_probes: int, chunk: int = 5_000_000) -> float:
    """Probes per second of the plain way: draw a random address, look it up in a 2^32-bit bitmap."""
    import numpy as np

    bitmap = np.zeros(1 << 29, dtype=np.uint8)
    np.bitwise_or.at(bitmap, addresses >> 3, (1 << (addresses & 7)).astype(np.uint8))
    rng = np.random.default_rng(0)
    hits = 0
    t = time.perf_counter()
    done = 0
    while done < n_probes:
        m = min(chunk, n_probes - done)
        a = rng.integers(0, 1 << 32, size=m, dtype=np.uint32)
        hits += int(((bitmap[a >> 3] >> (a & 7).astype(np.uint8)) & 1).sum())
        done += m
    wall = time.perf_counter() - t
    expected = n_probes * addresses.size / 2**32
    assert abs(hits - expected) < 10 * expected**0.5 + 10, "bitmap look-up is wrong"
    return n_probes / wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--big-hosts", type=int, default=10_000_000)
    ap.add_argument("--slice-probes", type=int, default=50_000_000)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        jit_s = float(subprocess.run([sys.executable, "-c", CHILD_JIT], env=env, capture_output=True,
                                     text=True, check=True).stdout)
    print(f"one-time JIT compilation (empty cache, incl. a tiny run): {jit_s:.2f} s")

    import wormlab
    from wormlab.engine.simulate import warm_up

    warm_up()
    sc = wormlab.load_scenario("codered-2001-07-19")
    walls, res = [], None
    for i in range(args.repeats):
        t = time.perf_counter()
        res = wormlab.simulate(sc, seed=i)
        walls.append(time.perf_counter() - t)
    best = min(walls)
    probes = res.summary["probes_total"]
    eff = probes / best
    print(f"codered-2001-07-19 whole window ({sc.internet.vulnerable_hosts:,} hosts, 2^32 space, "
          f"{sc.time.step_s:g} s steps, {int(sc.time.duration_s / sc.time.step_s):,} steps): "
          f"best {best:.3f} s, median {sorted(walls)[len(walls) // 2]:.3f} s over {args.repeats} runs "
          f"(target <= 0.25 s)")
    print(f"  probes simulated: {probes:,}; effective {eff:,.0f} probes/s")

    import numpy as np

    addresses = res.hosts["address"].to_numpy(dtype=np.uint32)
    loop = per_probe_loop_rate(addresses, args.slice_probes)
    print(f"  per-probe NumPy loop on a slice of {args.slice_probes:,} probes: {loop:,.0f} probes/s")
    print(f"  ratio engine / per-probe loop: {eff / loop:,.0f}x (target >= 10,000x)")

    out = subprocess.run([sys.executable, "-c", CHILD_BIG, str(args.big_hosts)], capture_output=True,
                         text=True, check=True).stdout
    big = json.loads(out.strip().splitlines()[-1])
    per_host = big["peak_rss_bytes"] / args.big_hosts
    per_host_over_base = (big["peak_rss_bytes"] - big["base_rss_bytes"]) / args.big_hosts
    print(f"{args.big_hosts:,}-host population, same window: {big['wall_s']:.2f} s (target <= 5 s); "
          f"ever infected {big['ever_infected']:,}")
    print(f"  peak RSS {big['peak_rss_bytes'] / 2**20:,.0f} MiB = {per_host:.0f} bytes/host "
          f"({per_host_over_base:.0f} bytes/host above the {big['base_rss_bytes'] / 2**20:.0f} MiB "
          f"of the warmed-up process) (target <= 200)")
    print(f"  building the per-host table afterwards: {big['table_s']:.2f} s, peak RSS "
          f"{big['peak_with_table_bytes'] / args.big_hosts:.0f} bytes/host")

    times = []
    for _ in range(5):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "wormlab", "--help"], capture_output=True, check=True)
        times.append(time.perf_counter() - t)
    print(f"wormlab --help: best {min(times):.3f} s, median {sorted(times)[2]:.3f} s (target <= 0.5 s)")


if __name__ == "__main__":
    main()
