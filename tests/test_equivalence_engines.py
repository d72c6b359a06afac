"""The fast engine and the per-probe reference engine agree in distribution (issue 3).

Over 200 seeds of a small scenario (2^16 addresses, 1,000 hosts), in three variants (plain
random scanning, with reboots, with patching), two-sample Kolmogorov–Smirnov tests compare the
final ever-infected count, the time to half of V and the new infections in three rows; the
p-values are Bonferroni-corrected over all of them and must stay above 0.01. A fast engine
with a deliberately wrong hit probability must be caught by the same test.
"""

from __future__ import annotations

import pytest

from equivalence_support import ALPHA, SEEDS, VARIANTS, corrected_ks, ensemble

N_OBSERVABLES = 5
N_TESTS = N_OBSERVABLES * len(VARIANTS)
FAST_SEEDS = range(SEEDS)
REFERENCE_SEEDS = range(10_000, 10_000 + SEEDS)  # independent of the fast engine's draws


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_fast_engine_matches_reference_in_distribution(variant):
    fast = ensemble("fast", variant, FAST_SEEDS)
    ref = ensemble("reference", variant, REFERENCE_SEEDS)
    pvalues = corrected_ks(fast, ref, N_TESTS)
    assert len(pvalues) == N_OBSERVABLES
    failing = {k: round(p, 4) for k, p in pvalues.items() if p <= ALPHA}
    assert not failing, f"{variant}: engines disagree (Bonferroni-corrected KS p): {failing}"


def test_a_wrong_hit_probability_is_caught():
    # Hits drawn with 1.25 times the right probability: K is 25% too high.
    broken = ensemble("fast", "plain", FAST_SEEDS, hit_scale=1.25)
    ref = ensemble("reference", "plain", REFERENCE_SEEDS)
    pvalues = corrected_ks(broken, ref, N_TESTS)
    assert min(pvalues.values()) < ALPHA, pvalues
    assert pvalues["rows_to_half_of_V"] < ALPHA
