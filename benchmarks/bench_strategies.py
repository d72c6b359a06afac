"""Cost of each scan strategy against uniform scanning, measured in the same run.

Each strategy runs the codered-2001-07-19 window (10:00 UTC 19 July .. 24:00 UTC 20 July, 1 s
steps) at 380,000 vulnerable hosts; the same scenario with only ``worm.scan`` (or the rates)
changed. Printed: best wall time and best CPU time (``time.process_time``: the machine may be
shared) of ``--repeats`` runs, and each as a ratio to uniform. Target from issue 4: local
preference and bandwidth-limited scanning at most 3x uniform.

Usage: python benchmarks/bench_strategies.py [--repeats 3] [--hosts 380000] [--only local-preference]
(uniform, the baseline, always runs; ``competing`` adds Code Red v2 as a uniform competitor
from 10 hosts to the local-preference worm.)
"""

from __future__ import annotations

import argparse
import time

BANDWIDTH = {
    "worm.probe_rate_per_s": None,
    "worm.saturation_probes_per_s": 1e9,
    # mean 4.3 probes/s, as the uniform run: half the hosts at 2.15/s and half at 6.45/s
    "worm.bandwidth": {"probe_bytes": 404, "classes": [
        {"share": 0.5, "bytes_per_s": 404 * 2.15}, {"share": 0.5, "bytes_per_s": 404 * 6.45}]},
}

VARIANTS = {
    "uniform": {},
    "local-preference": {"worm.scan": "local-preference"},
    "bandwidth-limited": BANDWIDTH,
    "static-seed": {"worm.scan": "static-seed"},
    "sequential": {"worm.scan": {"kind": "sequential"}},
    "hitlist+permutation": {"worm.scan": {"kind": "hitlist", "hitlist_size": 1000}},
    "competing": {"worm.scan": "local-preference", "worm.competitors": [
        {"name": "rival", "scan": "uniform", "probe_rate_per_s": 4.3, "initial_infected": 10}]},
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--hosts", type=int, default=380_000)
    ap.add_argument("--only", action="append", choices=sorted(VARIANTS), help="run only these (and uniform)")
    args = ap.parse_args()

    import wormlab

    base = wormlab.load_scenario("codered-2001-07-19",
                                 overrides=[f"internet.vulnerable_hosts={args.hosts}"])
    chosen = {name: (base.with_overrides(over) if over else base) for name, over in VARIANTS.items()
              if not args.only or name == "uniform" or name in args.only}
    for sc in chosen.values():
        wormlab.simulate(sc.with_overrides({"time.end": "2001-07-19T10:05:00Z"}), seed=0)  # JIT
    walls = {name: [] for name in chosen}
    cpus = {name: [] for name in chosen}
    ever = {}
    for i in range(args.repeats):  # the variants take turns: a load that comes and goes on a
        for name, sc in chosen.items():  # shared machine falls on all of them alike
            w, c = time.perf_counter(), time.process_time()
            res = wormlab.simulate(sc, seed=i)
            walls[name].append(time.perf_counter() - w)
            cpus[name].append(time.process_time() - c)
            ever[name] = res.summary["ever_infected"]
    rows = [(name, min(walls[name]), min(cpus[name]), ever[name]) for name in chosen]
    w0, c0 = rows[0][1], rows[0][2]
    print(f"codered-2001-07-19 window, {args.hosts:,} hosts, best of {args.repeats} runs each")
    print(f"{'strategy':<22}{'wall s':>9}{'x uniform':>11}{'cpu s':>9}{'x uniform':>11}{'ever infected':>15}")
    for name, w, c, ever in rows:
        print(f"{name:<22}{w:>9.3f}{w / w0:>11.2f}{c:>9.3f}{c / c0:>11.2f}{ever:>15,}")
    print("target: local-preference and bandwidth-limited <= 3x uniform")


if __name__ == "__main__":
    main()
