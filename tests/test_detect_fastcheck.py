"""The fast paths against the per-line reference: same counts, same sightings.

The vectorised checks in fastcheck.py (small inputs) and the compiled scanner in scankernel.py
(big inputs, on one or more threads) must only ever prove lines the format's regular expression
accepts (a sufficient check); lines they cannot prove go to the per-line judge. So for any input
both fast paths and the reference path (``log_reader.FAST = False``) must agree on every count.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wormlab.detect import fastcheck, log_reader, scankernel
from wormlab.detect.log_formats import ClfParser, IisParser
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
POOL = [ln.encode() for ln in GOOD_COMMON + GOOD_COMBINED]
# Bytes that matter to the shape: edits with these break lines in every way that counts.
_EDIT_BYTES = b' "[]\\\t\r\x0b-0123456789xN#.'
FUZZ = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


@st.composite
def _edited(draw, lines, alphabet=_EDIT_BYTES):
    """One of ``lines`` (str or bytes) with up to three bytes of ``alphabet`` inserted,
    replaced or deleted; newlines become spaces."""
    line = bytearray(draw(st.sampled_from(lines)))
    for _ in range(draw(st.integers(0, 3))):
        i = draw(st.integers(0, len(line)))
        b = draw(st.sampled_from(list(alphabet)))
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
    lines = data.draw(st.lists(_edited(POOL), min_size=1, max_size=12))
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


# (FAST, COMPILED_MIN_BYTES, workers): NumPy checks, compiled scanner on one and on two
# threads, then the reference, which the others are compared with.
PATHS = [(True, 1 << 40, 1), (True, 0, 1), (True, 0, 2), (False, 0, 1)]


def _all_paths(tmp_path, data: bytes, fmt: str, monkeypatch):
    path = tmp_path / "x.log"
    path.write_bytes(data)
    assert log_reader.compiled_ready()
    out = []
    for fast, big, workers in PATHS:
        monkeypatch.setattr(log_reader, "FAST", fast)
        monkeypatch.setattr(log_reader, "COMPILED_MIN_BYTES", big)
        rep = scan_inputs([str(path)], RULES, fmt, workers)
        f = rep.files[0]
        out.append(((f.lines, f.blank, f.directives, f.malformed, f.malformed_examples),
                    rep.totals(), rep.source_rows(), rep.timeline_rows(), rep.to_json()))
    return out


def _both(tmp_path, data: bytes, fmt: str, monkeypatch):
    """(the fast paths' answer, the reference's), after checking the fast paths agree."""
    *fast, ref = _all_paths(tmp_path, data, fmt, monkeypatch)
    assert all(f == fast[0] for f in fast)
    return fast[0], ref


@pytest.mark.parametrize("name", ["common", "combined"])
@FUZZ
@given(data=st.data())
def test_fast_and_reference_paths_agree_on_apache_logs(tmp_path, monkeypatch, name, data) -> None:
    lines = data.draw(st.lists(_edited(POOL) | st.sampled_from([b"", b"  ", b"\r"]),
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


def test_every_byte_offset_in_the_vector_search(tmp_path, monkeypatch) -> None:
    """The compiled Apache scan compares 32 bytes at a time: lines whose quotes, brackets,
    anchors, backslashes, head fields (short, long, one too many) and ends fall at every
    offset of those blocks, and at the block's end, get the reference's answer."""
    lines = []
    for pad in range(70):
        lines += [GOOD_COMBINED[0].replace("/a.html", "/" + "p" * pad + ".html"),
                  GOOD_COMBINED[1].replace("default", "d" * pad),
                  GOOD_COMBINED[0].replace("Moz", "M" * pad + '\\"'), "x" * pad,
                  GOOD_COMBINED[1].replace("192.0.2.3 -", "h" * (pad + 1) + " u" * (pad % 3))]
    for size in (4096, 1 << 20):
        monkeypatch.setattr(log_reader, "CHUNK_BYTES", size)
        fast, ref = _both(tmp_path, ("\n".join(lines) + "\n").encode(), "combined", monkeypatch)
        assert fast == ref
        assert fast[1]["sightings"] == 70 + 70 // 3  # and the hosts with ident and user


@pytest.mark.parametrize("size", [97, 500, 4096])
def test_chunks_ahead_of_a_fields_change_are_rescanned(tmp_path, monkeypatch, size) -> None:
    """Two threads scan chunks before an earlier chunk's #Fields: is read: still exact."""
    monkeypatch.setattr(log_reader, "CHUNK_BYTES", size)
    lines = IIS_HEAD + IIS_LINES[:2] * 20 + [IIS_LINES[2]] + IIS_LINES[3:5] * 20 + IIS_HEAD[1:]
    lines += IIS_LINES[:2] * 20
    fast, ref = _both(tmp_path, b"\n".join(lines) + b"\n", "iis", monkeypatch)
    assert fast == ref
    assert fast[0][3] == 20  # IIS_LINES[4], one column short, and only it


def test_overlong_lines_keep_their_place(tmp_path, monkeypatch) -> None:
    """An overlong line is numbered where it is, on every path, after the lines before it."""
    monkeypatch.setattr(log_reader, "CHUNK_BYTES", 4096)
    monkeypatch.setattr(log_reader, "MAX_LINE_BYTES", 10_000)
    lines = [ln.encode() for ln in GOOD_COMBINED * 30] + [b"A" * 30_000] + [b"x"]
    fast, ref = _both(tmp_path, b"\n".join(lines) + b"\n", "combined", monkeypatch)
    assert fast == ref
    assert [n for n, _ in ref[0][4]] == [91, 92]


def _kernel_flags(chunk: bytes, mode: int, anchors: tuple[bytes, ...], columns: int = 0):
    a = np.frombuffer(bytearray(chunk), np.uint8)
    args = scankernel.kernel_args(anchors, mode)
    stop, lines, _blank, flagged = scankernel.scan_block(a, 0, mode, columns, *args)
    assert stop == a.size or mode == scankernel.IIS
    return lines, {int(r[0]): int(r[3]) for r in flagged}


def _sure(kind: int) -> bool:
    """A sure candidate: parsed by the scanner or not."""
    return kind in (scankernel.CANDIDATE, scankernel.PARSED)


@pytest.mark.parametrize("name", ["common", "combined"])
@FUZZ
@given(data=st.data())
def test_compiled_scanner_proves_only_lines_the_parser_accepts(name, data) -> None:
    """Sufficient, never wrong: an unflagged line is well-formed and holds no anchor; a line
    flagged as a sure candidate does hold one."""
    lines = data.draw(st.lists(_edited(POOL) | st.sampled_from([b"\r"]),
                               min_size=1, max_size=12))
    mode = scankernel.COMBINED if name == "combined" else scankernel.COMMON
    anchors = tuple(a.encode() for a in RULES.anchors)
    count, flagged = _kernel_flags(b"\n".join(lines) + b"\n", mode, anchors)
    assert count == len(lines)
    parser = ClfParser(name)
    for i, ln in enumerate(lines):
        held = any(a in ln.rstrip(b"\r").lower() for a in anchors)
        if i not in flagged and ln:
            assert not held and parser.well_formed(ln.rstrip(b"\r")), ln
        elif _sure(flagged.get(i, 0)):
            assert held, ln


_BRACKETS = [ln.replace(b"[19/Jul/2001:10:00:01 -0700]", t) for ln in POOL[1:2] for t in (
    b"[19/Jul/2001:10:00:01]", b"[[x]", b"[19/Jul/2001:10:00:01 -0700 [a]", b"[ ]")]


@pytest.mark.parametrize("name", ["common", "combined"])
@FUZZ
@given(data=st.data())
def test_compiled_scanner_parses_as_the_regex_does(name, data) -> None:
    """A line the scanner parses (kind PARSED) is a sure candidate the parser accepts, and its
    fields (host, time, request, status) are the regular expression's."""
    from wormlab.detect.log_formats import _match_clf, parse_clf_time

    lines = data.draw(st.lists(_edited(POOL + _BRACKETS) | st.sampled_from(_BRACKETS),
                               min_size=1, max_size=12))
    mode = scankernel.COMBINED if name == "combined" else scankernel.COMMON
    anchors = tuple(a.encode() for a in RULES.anchors)
    chunk = b"\n".join(lines) + b"\n"
    a = np.frombuffer(bytearray(chunk), np.uint8)
    args = scankernel.kernel_args(anchors, mode)
    flagged = scankernel.scan_block(a, 0, mode, 0, *args)[3]
    parser = ClfParser(name)
    parsed = 0
    for i, start, end, kind, host_end, t0, t1, r0, r1, code, seconds in flagged.tolist():
        line = lines[i]
        assert chunk[start:end] == line
        if kind != scankernel.PARSED:
            continue
        parsed += 1
        req = parser.parse(line)
        m, request = _match_clf(line)
        assert req is not None and any(x in line.lower() for x in anchors), line
        assert chunk[start:host_end] == m.group(1) and chunk[t0:t1] == m.group(2)
        assert chunk[r0:r1] == request
        assert ("-" if code < 0 else f"{code:03d}") == req.status
        assert parse_clf_time(chunk[t0:t1]) == req.time_s
        if seconds != scankernel.NO_TIME:
            assert float(seconds) == req.time_s, chunk[t0:t1]
    if all(ln in POOL for ln in lines):  # typical lines: every candidate the parser accepts
        assert parsed == sum(any(x in ln.lower() for x in anchors)
                             and parser.parse(ln) is not None for ln in lines)


def test_the_reader_knows_the_scanners_codes() -> None:
    assert (log_reader.PARSED, log_reader.NO_TIME) == (scankernel.PARSED, scankernel.NO_TIME)


_STAMP = "19/Jul/2001:10:23:45 -0700"
_STAMP_BYTES = b"0123456789/:+- JulFebDecjulx\xd9"


@settings(max_examples=500, deadline=None)
@given(st.one_of(
    _edited([_STAMP.encode(), b"29/Feb/2001:00:00:00 +1359", b"01/Jan/0001:00:00:00 +0000",
             b"31/Dec/9999:23:59:59 -9999", b"00/Mar/1900:99:99:99 +0000"], _STAMP_BYTES),
    st.tuples(st.integers(0, 99), st.sampled_from(["Jan", "Feb", "Mar", "Dec", "jul", "Xyz"]),
              st.integers(0, 9999), st.integers(0, 99), st.integers(0, 99), st.integers(0, 99),
              st.sampled_from("+-"), st.integers(0, 99), st.integers(0, 99)).map(
        lambda p: "{:02d}/{}/{:04d}:{:02d}:{:02d}:{:02d} {}{:02d}{:02d}".format(*p).encode())))
def test_compiled_time_is_the_parsers(stamp) -> None:
    """The scanner's epoch seconds for a time in brackets are parse_clf_time's, or it leaves
    the time to Python (NO_TIME)."""
    from wormlab.detect.log_formats import parse_clf_time

    line = b'192.0.2.9 - - [' + stamp + b'] "GET /x.ida HTTP/1.0" 404 -'
    a = np.frombuffer(bytearray(line + b"\n"), np.uint8)
    anchors = tuple(x.encode() for x in RULES.anchors)
    flagged = scankernel.scan_block(a, 0, scankernel.COMMON, 0,
                                    *scankernel.kernel_args(anchors, scankernel.COMMON))[3]
    if b"]" in stamp or flagged[0, 3] != scankernel.PARSED:
        return
    seconds = int(flagged[0, 10])
    if seconds == scankernel.NO_TIME:
        assert len(stamp) != 26 or parse_clf_time(stamp) is None or b"0000" in stamp[7:11]
    else:
        assert float(seconds) == parse_clf_time(stamp), stamp


@FUZZ
@given(st.lists(st.sampled_from(IIS_LINES), max_size=25))
def test_compiled_scanner_stops_after_an_iis_directive(lines) -> None:
    chunk = b"\n".join(lines + [b"#Fields: a b"]) + b"\n"
    a = np.frombuffer(bytearray(chunk), np.uint8)
    anchors = tuple(a.encode() for a in RULES.anchors)
    args = scankernel.kernel_args(anchors, scankernel.IIS)
    parser = IisParser()
    parser.directive(IIS_HEAD[1])
    stop, count, _blank, flagged = scankernel.scan_block(a, 0, scankernel.IIS,
                                                         len(parser.fields), *args)
    first = next((i for i, ln in enumerate(lines) if ln.startswith(b"#")), None)
    assert count == (len(lines) + 1 if first is None else first + 1)
    assert flagged[-1][0] == count - 1 and chunk[flagged[-1][1]:flagged[-1][2]].startswith(b"#")
    assert chunk[:stop].count(b"\n") == count


_ANCHOR = st.binary(min_size=2, max_size=5).map(lambda b: b.lower())


@FUZZ
@given(st.lists(_ANCHOR, min_size=1, max_size=6),
       st.lists(st.binary(max_size=80), min_size=1, max_size=30))
def test_compiled_anchor_search_is_exact(anchors, lines) -> None:
    """Every line holding an anchor in any case is flagged, and a line flagged as a sure
    candidate holds one (anchors with a newline never match a line)."""
    lines = [ln.replace(b"\n", b"") for ln in lines]
    count, flagged = _kernel_flags(b"\n".join(lines) + b"\n", scankernel.COMMON,
                                   tuple(set(anchors)))
    assert count == len(lines)
    for i, ln in enumerate(lines):
        held = any(a in ln.rstrip(b"\r").lower() for a in anchors)
        if held:
            assert i in flagged, (ln, anchors)
        if _sure(flagged.get(i, 0)):
            assert held, (ln, anchors)


def test_cli_workers_give_the_same_report(tmp_path, capsys, monkeypatch) -> None:
    """``--workers`` changes who scans, never what is reported."""
    from wormlab.cli import main

    monkeypatch.setattr(log_reader, "COMPILED_MIN_BYTES", 0)
    monkeypatch.setattr(log_reader, "CHUNK_BYTES", 1000)
    lines = (GOOD_COMBINED + ["junk", "", "\r"]) * 50
    path = tmp_path / "a.log"
    path.write_text("\n".join(lines) + "\n")
    docs = []
    for workers in ("1", "2", "3"):
        assert main(["logs", str(path), "--json", "--workers", workers]) == 0
        docs.append(capsys.readouterr().out)
    assert docs[0] == docs[1] == docs[2]
    assert '"malformed_lines": 50' in docs[0]


def test_iso_is_strftime_of_gmtime() -> None:
    """The report's fast time formatting gives exactly what ``time.strftime`` gives."""
    import random
    import time

    from wormlab.detect.sightings import iso

    rng = random.Random(7)
    stamps = [0.0, -0.5, 86399.999, 995538225.9, -62135596800.0, 253402300799.0]
    for t in stamps + [rng.uniform(-3e9, 6e10) for _ in range(2000)]:
        assert iso(t) == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t)), t


_TIME_BYTES = b"0123456789/:+- JulAugx\xd9"


@FUZZ
@given(_edited([b"19/Jul/2001:10:23:45 -0700", b"19/Jul/2001:10:23:45",
                b"29/Feb/2001:10:23:59 +0130"], _TIME_BYTES))
def test_time_parse_by_the_minute_is_the_regex_parse(raw) -> None:
    """parse_clf_time remembers minutes and adds the seconds: the same answer as the regex."""
    from wormlab.detect.log_formats import _parse_clf_time, parse_clf_time

    assert parse_clf_time(raw) == _parse_clf_time(raw)


@pytest.mark.parametrize("time_s", [995538225.0, None])
def test_a_new_source_is_what_an_empty_one_plus_a_sighting_is(time_s) -> None:
    """Report.add builds a new source's stats in one step: the same as SourceStats.add."""
    from wormlab.detect.log_formats import Request
    from wormlab.detect.sightings import Report, SourceStats

    req = Request("192.0.2.1", time_s, "GET", CR, "400", "-")
    rule = RULES.match(CR)
    report = Report()
    report.add(req, rule)
    by_hand = SourceStats(req.source)
    by_hand.add(req, rule)
    assert report.sources[req.source] == by_hand


@pytest.mark.parametrize("fmt", ["common", "combined", "iis"])
@FUZZ
@given(data=st.binary(max_size=600))
def test_random_bytes_agree_on_every_path(tmp_path, monkeypatch, fmt, data) -> None:
    """NULs, invalid UTF-8, stray quotes and CRs: every path counts the reference's answer."""
    # a leading "x" keeps the bytes from reading as a capture's or a compressor's magic
    fast, ref = _both(tmp_path, b"x" + data + b"\n", fmt, monkeypatch)
    assert fast == ref


@pytest.mark.parametrize("buffers", [2, 3, 5])
@FUZZ
@given(lines=st.lists(st.binary(max_size=300).map(lambda b: b.replace(b"\n", b"")), max_size=30),
       size=st.integers(7, 200))
def test_ring_chunks_stay_whole_until_their_buffer_comes_round(monkeypatch, buffers, lines,
                                                               size) -> None:
    """A chunk read into the ring is unchanged while ``buffers - 1`` more are read (lines
    spanning many blocks included), and the chunks are the input, line for line."""
    import io
    from collections import deque

    monkeypatch.setattr(log_reader, "CHUNK_BYTES", size)
    data = b"\n".join(lines) + (b"\n" if lines else b"")
    kept: deque = deque(maxlen=buffers - 1)
    got = []
    stream = io.BufferedReader(io.BytesIO(data))
    for chunk in log_reader.iter_chunks(stream, log_reader.FileStats("x"), buffers):
        for view, copy in kept:
            assert bytes(view) == copy
        kept.append((chunk, bytes(chunk)))
        got.append(bytes(chunk))
    assert b"".join(got) == data


def test_a_blank_file_is_empty_not_malformed(tmp_path) -> None:
    path = tmp_path / "blank.log"
    path.write_bytes(b"\n \r\n\n")
    f = scan_inputs([str(path)], RULES).files[0]
    assert f.format == "empty" and f.malformed == 0 and not f.malformed_examples


def test_without_the_compiled_scanner_the_numpy_checks_do_all(tmp_path, monkeypatch) -> None:
    """If Numba cannot load (and there is no C scanner), a big input still gets the exact
    answer, with a warning."""
    def broken() -> None:
        raise RuntimeError("no compiler here")

    monkeypatch.setattr(log_reader, "C_SCANNER", False)
    monkeypatch.setattr(scankernel, "warm_up", broken)
    monkeypatch.setattr(log_reader, "_compiled_state", None)
    monkeypatch.setattr(log_reader, "COMPILED_MIN_BYTES", 0)
    path = tmp_path / "a.log"
    path.write_text(("\n".join(GOOD_COMBINED + ["junk"]) + "\n") * 3)
    with pytest.warns(UserWarning, match="no compiler here"):
        report = scan_inputs([str(path)], RULES, "combined", 2)
    assert log_reader._compiled_state is False
    assert report.files[0].malformed == 3 and report.sightings == 6


def test_the_logs_command_loads_numba_without_blas_and_reports_the_same(tmp_path) -> None:
    """The ``logs`` command loads the compiled scanner without importing scipy.linalg (Numba's
    BLAS check), and reports what the library reports; scipy.linalg still imports after."""
    import json
    import subprocess
    import sys

    path = tmp_path / "a.log"
    path.write_text(("\n".join(GOOD_COMBINED + ["junk", ""]) + "\n") * 20)
    code = ("import sys; from wormlab.detect import log_reader; "
            "log_reader.COMPILED_MIN_BYTES = 0; from wormlab.cli import main; "
            "rc = main(['logs', sys.argv[1], '--json', '--workers', '2']); "
            "assert log_reader._compiled_state and 'scipy.linalg' not in sys.modules; "
            "import scipy.linalg; sys.exit(rc)")
    proc = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == json.loads(json.dumps(
        scan_inputs([str(path)], RULES, "auto", 1).to_dict()))


def test_the_scanner_is_compiled_for_one_buffer_type(tmp_path, monkeypatch) -> None:
    """Chunks from the ring and an input's last line (``bytes``) reach the scanner as the same
    array type, so one machine-code version is loaded (each type costs its own load)."""
    monkeypatch.setattr(log_reader, "COMPILED_MIN_BYTES", 0)
    path = tmp_path / "a.log"
    path.write_bytes(("\n".join(GOOD_COMBINED) + "\n").encode() * 3 + b"no newline at the end")
    scan_inputs([str(path)], RULES, "combined", 1)
    assert all(sig[0].mutable for sig in scankernel.scan_block.signatures)
