"""Large-population agreement: the engine's ensemble mean follows Random Constant Spread.

Pure uniform scanning of 100,000 hosts in the whole IPv4 space, no patching or reboots, inside
the worm's spreading days: the mean ever-infected count over an ensemble must stay within 1% of
V of the RCS solution with K = r·3600·V/2^32 at every hour.
"""

from __future__ import annotations

from wormlab.history.equivalence import rcs_agreement


def test_ensemble_mean_stays_within_one_percent_of_rcs_every_hour():
    out = rcs_agreement(vulnerable_hosts=100_000, initial_infected=100, K_per_hour=1.5, runs=10)
    assert out["final_mean_fraction"] > 0.99  # the outbreak ran its course inside the window
    assert len(out["deviation_fraction_of_V"]) == 13  # 0 h … 12 h
    assert out["max_deviation_fraction_of_V"] < 0.01, out["deviation_fraction_of_V"]
