"""The report's columns against a plain per-source tally: the same tables, to the byte.

``Report`` keeps sightings as columns and builds the per-source table, the timeline and the
totals with NumPy; here the same sightings are tallied the obvious way (a ``SourceStats`` per
source, ``SourceStats.add`` per sighting, rows sorted by Python) and both must agree exactly.
"""

from __future__ import annotations

import json
import math
from collections import Counter

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from wormlab.detect.log_formats import Request
from wormlab.detect.log_reader import FileStats
from wormlab.detect.sightings import Report, SourceStats, iso, iso_many
from wormlab.detect.signatures import load_ruleset

RULES = load_ruleset().rules

_TIMES = st.one_of(
    st.none(),
    st.sampled_from([0.0, -0.0, 3599.999, 3600.0, 995538225.0, -1.5, 7199.0]),
    st.integers(-2 * 10**9, 4 * 10**9).map(float),
    st.floats(-4e10, 2.6e11, allow_nan=False),
)
_SOURCES = st.sampled_from(["192.0.2.1", "192.0.2.10", "10.0.0.1", "a", "a\x00", "é", "Z", "",
                            'q"uote', "back\\slash", "del\x7f", "tab\t", "\udc80x"])
_SIGHTING = st.tuples(_SOURCES, _TIMES, st.integers(0, len(RULES) - 1),
                      st.sampled_from(["400", "404", "200", "-", "x"]))


def _plain(sightings):
    """What the report says, tallied one SourceStats per source (the first version's code)."""
    sources: dict[str, SourceStats] = {}
    per_hour: Counter = Counter()
    by_variant: Counter = Counter()
    by_rule: Counter = Counter()
    untimed = 0
    for source, t, k, status in sightings:
        rule = RULES[k]
        sources.setdefault(source, SourceStats(source)).add(
            Request(source, t, "GET", "/", status), rule)
        by_variant[rule.variant] += 1
        by_rule[rule.id] += 1
        if t is None:
            untimed += 1
        else:
            per_hour[int(t // 3600)] += 1
    rows = []
    for s in sorted(sources.values(), key=lambda s: (s.first_s is None, s.first_s or 0.0,
                                                     s.source)):
        variants = sorted(s.variants, key=lambda v: -s.variants[v])
        rules = sorted(s.rules, key=lambda v: -s.rules[v])
        rows.append({"source": s.source, "variants": ";".join(variants),
                     "rules": ";".join(rules), "confidence": s.confidence,
                     "first_seen": iso(s.first_s), "last_seen": iso(s.last_s),
                     "count": s.count,
                     "statuses": ";".join(f"{k}:{v}" for k, v in sorted(s.statuses.items()))})
    new = Counter(math.floor(s.first_s / 3600) for s in sources.values()
                  if s.first_s is not None)
    hours = sorted(set(per_hour) | set(new))
    timeline, cum = [], 0
    for h in range(hours[0], hours[-1] + 1) if hours else ():
        cum += new.get(h, 0)
        timeline.append({"hour": iso(h * 3600.0), "sightings": per_hour.get(h, 0),
                         "new_sources": new.get(h, 0), "unique_sources": cum})
    totals = (len(sightings), untimed, len(sources), dict(by_variant.most_common()),
              dict(by_rule.most_common()))
    return sources, rows, timeline, totals


@settings(max_examples=300, deadline=None)
@given(st.lists(_SIGHTING, max_size=40))
def test_columns_give_what_a_tally_per_source_gives(sightings) -> None:
    # keep the timeline short: hours span at most a few days
    sightings = [(s, None if t is None else t % 300000.0 if abs(t) > 1e6 else t, k, st)
                 for s, t, k, st in sightings]
    report = Report()
    for source, t, k, status in sightings:
        report.add(Request(source, t, "GET", "/", status), RULES[k])
    sources, rows, timeline, totals = _plain(sightings)
    assert report.sources == sources
    assert list(report.sources) == list(sources)
    assert json.dumps(report.source_rows()) == json.dumps(rows)
    assert report.timeline_rows() == timeline
    t = report.totals()
    assert (t["sightings"], t["untimed_sightings"], t["sources"], t["by_variant"],
            t["by_rule"]) == totals
    assert list(t["by_variant"]) == list(totals[3]) and list(t["by_rule"]) == list(totals[4])
    report.files.append(FileStats("x.log"))
    assert report.to_json() == json.dumps(report.to_dict())
    for per_part in (1, 2, 3):  # the parts the logs command writes one by one
        assert "".join(report.json_parts(per_part)) == report.to_json()


@settings(max_examples=200, deadline=None)
@given(st.lists(_TIMES, max_size=30))
def test_iso_many_is_iso(times) -> None:
    arr = np.array([math.nan if t is None else t for t in times], np.float64)
    assert iso_many(arr) == [iso(t) for t in times]


def test_iso_many_at_the_edges_of_its_years() -> None:
    edges = [-30610224000.0, -30610224000.5, 253402300799.0, 253402300799.9, 253402300800.0,
             -62135596800.0, 0.5, -0.5]
    assert iso_many(np.array(edges)) == [iso(t) for t in edges]


def test_an_empty_report() -> None:
    report = Report()
    assert report.source_rows() == [] and report.timeline_rows() == []
    assert report.sources == {} and report.totals()["by_variant"] == {}
    assert report.to_json() == json.dumps(report.to_dict())
