"""The fast engine and the per-probe reference engine agree in distribution (issue 3).

Over 200 seeds of a small scenario (2^16 addresses, 1,000 hosts), in three variants (plain
random scanning, with reboots, with patching), two-sample Kolmogorov–Smirnov tests compare the
final ever-infected count, the time to half of V and the new infections in three rows; the
p-values are Bonferroni-corrected over all of them and must stay above 0.01. A fast engine
with a deliberately wrong hit probability must be caught by the same test.
"""

from __future__ import annotations

import pytest

from wormlab.history.equivalence import ALPHA, OBSERVABLES, VARIANTS, engine_equivalence

SEEDS = 200


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_fast_engine_matches_reference_in_distribution(variant):
    rows = engine_equivalence(SEEDS, variants=[variant])
    assert [r["observable"] for r in rows] == list(OBSERVABLES)
    failing = {r["observable"]: round(r["p_corrected"], 4) for r in rows if not r["passed"]}
    assert not failing, f"{variant}: engines disagree (Bonferroni-corrected KS p): {failing}"
    assert all(r["p_corrected"] >= r["p"] for r in rows)


def test_a_wrong_hit_probability_is_caught():
    # Hits drawn with 1.25 times the right probability: K is 25% too high.
    rows = {r["observable"]: r for r in engine_equivalence(SEEDS, hit_scale=1.25, variants=["plain"])}
    assert min(r["p_corrected"] for r in rows.values()) < ALPHA
    assert not rows["rows_to_half_of_V"]["passed"]
    assert rows["rows_to_half_of_V"]["fast_mean"] < rows["rows_to_half_of_V"]["reference_mean"]
