"""The whole-block fast path against the per-line reference: same counts, same sightings.

The vectorised checks in fastcheck.py must only ever prove lines the format's regular expression
accepts (a sufficient check); lines they cannot prove go to the per-line judge. So for any input
the fast path and the reference path (``log_reader.FAST = False``) must agree on every count.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wormlab.detect import fastcheck, log_reader
from wormlab.detect.log_formats import ClfParser
from wormlab.detect.sightings import scan_inputs
from wormlab.detect.signatures import load_ruleset

RULES = load_ruleset()
CR = "/default.ida?" + "N" * 224 + "%u9090%u6858=a"
GOOD_COMMON = [
    '192.0.2.1 - - [19/Jul/2001:10:00:00 +0000] "GET /index.html HTTP/1.0" 200 2326',
    f'192.0.2.2 - frank [19/Jul/2001:10:00:01 -0700] "GET {CR} HTTP/1.0" 400 -',
    '198.51.100.7 - - [19/Jul/2001:10:00:02 +0000] "GET /a HTTP/1.1" 304 - "-" "x [en]"',
]
GOOD_COMBINED = [
    '192.0.2.1 - - [19/Jul/2001:10:00:00 +0000] "GET /a.html HTTP/1.1" 200 231 "-" "Moz [en]"',
    f'192.0.2.3 - - [19/Jul/2001:10:00:03 +0000] "GET {CR} HTTP/1.0" 404 - "-" "-"',
    ('192.0.2.4 - - [18/Sep/2001:14:00:00 +0000] "GET /scripts/..%255c../winnt/system32/'
     'cmd.exe?/c+dir HTTP/1.0" 404 308 "http://r/" "a b c"'),
]
# Bytes that matter to the shape: edits with these break lines in every way that counts.
_EDIT_BYTES = b' "[]\\\t\r\x0b-0123456789xN#.'
FUZZ = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


@st.composite
def _edited(draw, lines):
    line = bytearray(draw(st.sampled_from(lines)).encode())
    for _ in range(draw(st.integers(0, 3))):
        i = draw(st.integers(0, len(line)))
        b = draw(st.sampled_from(list(_EDIT_BYTES)))
        op = draw(st.sampled_from(["insert", "replace", "delete"]))
        if op == "insert":
            line[i:i] = bytes([b])
        elif i < len(line):
            if op == "replace":
                line[i] = b
            else:
                del line[i]
    return bytes(line).replace(b"\n", b" ")


@pytest.mark.parametrize("name", ["common", "combined"])
@FUZZ
@given(data=st.data())
def test_proved_lines_are_accepted_by_the_regex(name, data) -> None:
    """Sufficient, never wrong: every line the vector check proves, the parser accepts."""
    pool = GOOD_COMMON + GOOD_COMBINED
    lines = data.draw(st.lists(_edited(pool), min_size=1, max_size=12))
    chunk = b"\n".join(lines) + b"\n"
    a = np.frombuffer(chunk, np.uint8)
    starts, ends = fastcheck.line_spans(a)
    proved = fastcheck.clf_proved(a, starts, ends, name == "combined")
    parser = ClfParser(name)
    for ln, ok in zip(lines, proved, strict=True):
        if ok:
            assert parser.well_formed(ln.rstrip(b"\r")), ln


def test_typical_lines_are_proved_without_python() -> None:
    """The point of the fast path: ordinary lines need no per-line step."""
    for name, lines in (("common", GOOD_COMMON), ("combined", GOOD_COMBINED)):
        chunk = ("\n".join(lines) + "\n").encode()
        a = np.frombuffer(chunk, np.uint8)
        assert fastcheck.clf_proved(a, *fastcheck.line_spans(a), name == "combined").all()


def _both(tmp_path, data: bytes, fmt: str, monkeypatch):
    path = tmp_path / "x.log"
    path.write_bytes(data)
    out = []
    for fast in (True, False):
        monkeypatch.setattr(log_reader, "FAST", fast)
        rep = scan_inputs([str(path)], RULES, fmt)
        f = rep.files[0]
        out.append(((f.lines, f.blank, f.directives, f.malformed, f.malformed_examples),
                    rep.totals(), rep.source_rows()))
    return out


@pytest.mark.parametrize("name", ["common", "combined"])
@FUZZ
@given(data=st.data())
def test_fast_and_reference_paths_agree_on_apache_logs(tmp_path, monkeypatch, name, data) -> None:
    pool = GOOD_COMMON + GOOD_COMBINED
    lines = data.draw(st.lists(_edited(pool) | st.sampled_from([b"", b"  ", b"\r"]),
                               min_size=1, max_size=15))
    fast, ref = _both(tmp_path, b"\n".join(lines) + b"\n", name, monkeypatch)
    assert fast == ref


IIS_HEAD = [
    b"#Software: Microsoft Internet Information Services 5.0",
    b"#Fields: date time c-ip cs-method cs-uri-stem cs-uri-query sc-status",
]
IIS_LINES = [
    b"2001-07-19 17:03:12 192.0.2.30 GET /default.htm - 200",
    b"2001-07-19 17:04:00 192.0.2.31 GET /default.ida " + b"N" * 224 + b"=a 200",
    b"#Fields: time c-ip cs-method cs-uri-stem cs-uri-query sc-status date",
    b"17:05:00 192.0.2.32 GET /scripts/..%c1%1c../winnt/system32/cmd.exe /c+dir 404 2001-09-18",
    b"17:05:00 192.0.2.33 GET /x - 200",
    b"",
    b"2001-07-19 17:03:12\t192.0.2.30 GET /a - 200",
    b" 2001-07-19 17:03:12 192.0.2.30 GET /a - 200\r",
]


@FUZZ
@given(st.lists(st.sampled_from(IIS_LINES), max_size=25))
def test_fast_and_reference_paths_agree_on_iis_logs(tmp_path, monkeypatch, lines) -> None:
    """Including a #Fields: change mid-block, which changes what well-formed means after it."""
    fast, ref = _both(tmp_path, b"\n".join(IIS_HEAD + lines) + b"\n", "iis", monkeypatch)
    assert fast == ref


def test_chunk_edges_do_not_change_the_counts(tmp_path, monkeypatch) -> None:
    """Windows near a block's end read past it as newlines: still the reference's answer."""
    lines = (GOOD_COMBINED + ["garbage", ""]) * 40
    data = ("\n".join(lines) + "\n").encode()
    for size in (97, 500, 4096):
        monkeypatch.setattr(log_reader, "CHUNK_BYTES", size)
        fast, ref = _both(tmp_path, data, "combined", monkeypatch)
        assert fast == ref
        assert fast[0][3] == 40  # the garbage lines, and only them
