"""Cost of the defences against the undefended run, measured in the same run.

``codered-2001-07-19`` (10:00 UTC 19 July .. 24:00 UTC 20 July, 1 s steps, 400,000 hosts) and
``codered-2001-07-19-defended`` (the same outbreak with a patch campaign by organisation type,
reboots, ingress filtering and renumbering: every defence of the realistic mix on). With
``--each``, also the defended scenario with one defence at a time, to see where the cost is.
Printed: best wall time and best CPU time (``time.process_time``: the machine may be shared) of
``--repeats`` runs, the variants taking turns, each as a ratio to the undefended run, and the
median of the ratios of runs made one after the other (steadier when the load comes and goes).
Target from issue 5: the defended run at most 2x the undefended one.

Usage: python benchmarks/bench_defenses.py [--repeats 5] [--each]
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def _best(variants, repeats: int):
    """Best wall and CPU time of each variant; the variants take turns, so a load that comes and
    goes on a shared machine falls on all of them alike."""
    import wormlab

    for _, sc in variants:
        wormlab.simulate(sc, seed=repeats)  # JIT or cache load, the network's first build
    walls = [[] for _ in variants]
    cpus = [[] for _ in variants]
    ever = [0] * len(variants)
    for i in range(repeats):
        for v, (_, sc) in enumerate(variants):
            w, c = time.perf_counter(), time.process_time()
            res = wormlab.simulate(sc, seed=i)
            walls[v].append(time.perf_counter() - w)
            cpus[v].append(time.process_time() - c)
            ever[v] = res.summary["ever_infected"]
    paired = [float(np.median(np.array(cpus[v]) / np.array(cpus[0]))) for v in range(len(variants))]
    return [(name, min(walls[v]), min(cpus[v]), ever[v], paired[v]) for v, (name, _) in enumerate(variants)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--each", action="store_true", help="also time each defence alone")
    args = ap.parse_args()

    import wormlab

    base = wormlab.load_scenario("codered-2001-07-19")
    defended = wormlab.load_scenario("codered-2001-07-19-defended")
    variants = [("codered-2001-07-19 (undefended)", base),
                ("codered-2001-07-19-defended (all on)", defended)]
    if args.each:
        raw = defended.model_dump(mode="python", by_alias=True)["defenses"]
        variants.append(("  no defences, same network", defended.with_overrides({"defenses": []})))
        for spec in raw:
            variants.append((f"  only {spec['kind']}", defended.with_overrides({"defenses": [spec]})))
    rows = _best(variants, args.repeats)
    w0, c0 = rows[0][1], rows[0][2]
    print(f"best of {args.repeats} runs each")
    print(f"{'run':<40}{'wall s':>9}{'x undef':>9}{'cpu s':>9}{'x undef':>9}{'paired':>8}{'ever infected':>15}")
    for name, w, c, ever, paired in rows:
        print(f"{name:<40}{w:>9.3f}{w / w0:>9.2f}{c:>9.3f}{c / c0:>9.2f}{paired:>8.2f}{ever:>15,}")
    print("(paired: the median over repeats of the CPU-time ratio of runs made one after the other)")
    print(f"defended / undefended wall time: {rows[1][1] / w0:.2f}x, CPU time {rows[1][2] / c0:.2f}x, "
          f"paired {rows[1][4]:.2f}x (target <= 2x)")


if __name__ == "__main__":
    main()
