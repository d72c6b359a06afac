"""Large-population agreement with Random Constant Spread, at full size (issue 3, item 5).

The test suite checks 100,000 hosts over 10 seeds; this runs a bigger population and more
seeds and prints the hourly deviation of the ensemble mean from RCS, in % of V, and the wall
time. Not a timed test: it prints its figures.

    python benchmarks/bench_rcs_agreement.py [--hosts 1000000] [--runs 20] [--k-per-hour 1.5]
"""

from __future__ import annotations

import argparse
import time

from wormlab.history.equivalence import rcs_agreement


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hosts", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--initial", type=int, default=100)
    ap.add_argument("--k-per-hour", type=float, default=1.5)
    ap.add_argument("--hours", type=int, default=16)
    args = ap.parse_args()
    t0 = time.perf_counter()
    out = rcs_agreement(args.hosts, args.initial, args.k_per_hour, args.runs, args.hours)
    wall = time.perf_counter() - t0
    print(f"V = {out['vulnerable_hosts']:,} hosts, K = {out['K_per_hour']:.3f}/h, "
          f"{out['runs']} seeds, {wall:.1f} s wall ({wall / out['runs']:.2f} s per run)")
    print("hour  mean ever-infected          RCS   |mean-RCS|/V")
    for h, m, r, d in zip(out["hours"], out["mean_ever_infected"], out["rcs"],
                          out["deviation_fraction_of_V"]):
        print(f"{h:4.0f}  {m:18,.0f}  {r:11,.0f}   {d * 100:10.3f}%")
    verdict = "within" if out["max_deviation_fraction_of_V"] < 0.01 else "NOT within"
    print(f"max deviation {out['max_deviation_fraction_of_V'] * 100:.3f}% of V: {verdict} 1%")


if __name__ == "__main__":
    main()
