"""Fuzzing the readers: random bytes, NULs, invalid UTF-8, long lines never crash the scan."""

from __future__ import annotations

import gzip

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wormlab.detect.sightings import scan_inputs
from wormlab.detect.signatures import load_ruleset
from wormlab.errors import InputError

RULES = load_ruleset()
GOOD = b'192.0.2.1 - - [19/Jul/2001:10:00:00 +0000] "GET /default.ida?NNNNNNNNNNNNNNNNNNNNNNNNN=a HTTP/1.0" 400 -\n'
FUZZ = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


def _scan_bytes(tmp_path, data: bytes, fmt: str = "auto"):
    path = tmp_path / "f.log"
    path.write_bytes(data)
    try:
        return scan_inputs([str(path)], RULES, fmt)
    except InputError:
        return None  # refusing unrecognisable input is fine; any other exception is a bug


@FUZZ
@given(st.binary(max_size=2000))
def test_random_bytes_never_crash(tmp_path, data) -> None:
    _scan_bytes(tmp_path, data)
    _scan_bytes(tmp_path, data, "iis")


@FUZZ
@given(st.lists(st.binary(max_size=300), max_size=20))
def test_junk_between_good_lines_is_counted_not_dropped(tmp_path, junk) -> None:
    junk = [j.replace(b"\n", b"") for j in junk]
    data = b"\n".join([GOOD.rstrip(b"\n"), *junk, GOOD])
    report = _scan_bytes(tmp_path, data, "common")
    f = report.files[0]
    assert report.sightings >= 2
    assert f.lines == len(junk) + 2
    # every line is either good, blank, or counted malformed
    assert f.malformed + f.blank >= sum(1 for j in junk if b'] "' not in j)


def test_nul_bytes_invalid_utf8_and_long_lines(tmp_path) -> None:
    data = GOOD + b"\x00" * 500 + b"\n" + b"\xff\xfe\xc3(" * 100 + b"\n" + b"x" * 200_000 + b"\n" + GOOD
    report = _scan_bytes(tmp_path, data, "common")
    assert report.sightings == 2 and report.files[0].malformed == 3


@FUZZ
@given(st.integers(min_value=1, max_value=400))
def test_truncated_gzip_anywhere_never_crashes(tmp_path, cut) -> None:
    data = gzip.compress(GOOD * 50)
    report = _scan_bytes(tmp_path, data[: max(1, len(data) - cut)], "common")
    assert report is None or report.sightings <= 50


_ANCHOR = st.binary(min_size=2, max_size=5).map(lambda b: b.replace(b"\n", b"a").lower())


@FUZZ
@given(st.lists(_ANCHOR, min_size=1, max_size=6), st.lists(st.binary(max_size=80), max_size=30))
def test_fast_anchor_search_never_misses_a_line(anchors, lines) -> None:
    """The folded pivot search flags every line that holds an anchor in any case."""
    import numpy as np

    from wormlab.detect.fastcheck import Folder, anchor_plan, candidate_lines, fold, line_spans

    lines = [ln.replace(b"\n", b"") for ln in lines]
    chunk = b"\n".join(lines) + b"\n"
    _starts, ends = line_spans(np.frombuffer(chunk, np.uint8))
    plan = anchor_plan(tuple(fold(a) for a in set(anchors)))
    flagged = set(candidate_lines(Folder().fold(chunk), ends, plan).tolist())
    for i, ln in enumerate(lines):
        if any(a in ln.lower() for a in anchors):
            assert i in flagged, (ln, anchors)
