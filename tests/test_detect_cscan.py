"""The C scanner (detect/_linescan.c via cscan.py) against the Numba kernel it replaces.

The Numba kernel (scankernel.scan_block) is the reference here: for any buffer, mode, column
count, anchors and start, the C pass, read a byte at a time, 16 (SSE2) or 32 (AVX2) bytes at a
time, must stop at the same offset, count the same lines and blanks and flag the same rows
(columns 4-10 too for a PARSED row; zero elsewhere, where Numba leaves them unset). The whole
reader is then held to the reference path with the C scanner, with Numba, on one and two
threads; and without the extension the reader falls back to Numba.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wormlab.detect import log_reader, scankernel, scantables
from wormlab.detect.sightings import scan_inputs
from wormlab.detect.signatures import load_ruleset

cscan = pytest.importorskip("wormlab.detect.cscan", reason="the C extension was not built")

RULES = load_ruleset()
ANCHORS = tuple(a.encode() for a in RULES.anchors)
ISAS = list(range(cscan.ISA + 1))  # every block reader this CPU runs
CR = b"/default.ida?" + b"N" * 224 + b"%u9090%u6858=a"
POOL = [
    b'192.0.2.1 - - [19/Jul/2001:10:00:00 +0000] "GET /index.html HTTP/1.0" 200 2326',
    b'192.0.2.2 - frank [19/Jul/2001:10:00:01 -0700] "GET ' + CR + b' HTTP/1.0" 400 -',
    b'192.0.2.3 - - [19/Jul/2001:10:00:03 +0000] "GET ' + CR + b' HTTP/1.0" 404 - "-" "-"',
    b'192.0.2.1 - - [19/Jul/2001:10:00:00 +0000] "GET /a.html HTTP/1.1" 200 231 "-" "M [en]"',
    (b'192.0.2.4 - - [18/Sep/2001:14:00:00 +0000] "GET /scripts/..%255c../winnt/system32/'
     b'cmd.exe?/c+dir HTTP/1.0" 404 308 "http://r/" "a b c"'),
    b'198.51.100.5 - - [18/Sep/2001:14:00:01 +0000] "GET /say \\"hi\\" HTTP/1.0" 200 5 "-" "x"',
    b"2001-07-19 17:04:00 192.0.2.31 GET /default.ida " + b"N" * 224 + b"=a 200",
    b"#Fields: date time c-ip cs-method cs-uri-stem cs-uri-query sc-status",
    b"2001-07-19 17:03:12\t192.0.2.30 GET /a - 200",
    b" 2001-07-19 17:03:12 192.0.2.30 GET /a.EXE - 200\r",
    b"", b"\r", b"   ",
]
_EDIT = b' "[]\\\t\r\x0b\x0c#-0123456789xN./%eEiIdD\x00\xff\xc3'
FUZZ = settings(max_examples=200, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])


@st.composite
def _line(draw) -> bytes:
    """A pool line edited at a few places, random bytes (NULs, invalid UTF-8), or a long
    line; never a newline inside."""
    kind = draw(st.integers(0, 9))
    if kind < 6:
        line = bytearray(draw(st.sampled_from(POOL)))
        for _ in range(draw(st.integers(0, 3))):
            i = draw(st.integers(0, len(line)))
            b = draw(st.sampled_from(list(_EDIT)))
            op = draw(st.integers(0, 2))
            if op == 0:
                line[i:i] = bytes([b])
            elif i < len(line):
                if op == 1:
                    line[i] = b
                else:
                    del line[i]
        return bytes(line)
    if kind < 9:
        return draw(st.binary(max_size=150)).replace(b"\n", b" ")
    return draw(st.sampled_from(POOL)) + b"x" * draw(st.integers(0, 3000))


_MODES = st.sampled_from([scantables.COMMON, scantables.COMBINED, scantables.IIS])
_ANCHOR_SETS = st.one_of(
    st.just(ANCHORS),
    st.lists(st.binary(min_size=2, max_size=5).map(bytes.lower), min_size=1, max_size=9)
    .map(lambda a: tuple(sorted(set(a)))))


def _both(buf: bytes, lo: int, mode: int, nfields: int, anchors: tuple[bytes, ...]):
    """Numba's answer and the C one's for every block reader, after checking they agree."""
    args = scantables.kernel_args(anchors, mode)
    a = np.frombuffer(bytearray(buf), np.uint8)
    ref = scankernel.scan_block(a, lo, mode, nfields, *args)
    for isa in ISAS:
        got = cscan.scan_block(buf, lo, mode, nfields, *args, isa=isa)
        assert got[:3] == ref[:3], (isa, got[:3], ref[:3])
        rows, want = got[3], ref[3]
        assert rows.shape == want.shape, (isa, rows.shape, want.shape)
        assert (rows[:, :4] == want[:, :4]).all(), isa
        parsed = want[:, 3] == scantables.PARSED
        assert (rows[parsed] == want[parsed]).all(), isa
        assert not rows[~parsed, 4:].any(), isa
    return ref


@FUZZ
@given(st.lists(_line(), min_size=1, max_size=40), _MODES, st.integers(1, 12), _ANCHOR_SETS,
       st.data())
def test_c_scanner_is_the_numba_kernel(lines, mode, nfields, anchors, data) -> None:
    """Random and edited lines, every mode, any anchors, from any line start."""
    buf = b"\n".join(lines) + b"\n"
    starts = [0] + [i + 1 for i in range(len(buf)) if buf[i] == 10]
    lo = data.draw(st.sampled_from(starts))
    ref = _both(buf, lo, mode, nfields, anchors)
    if mode == scantables.IIS and ref[0] < len(buf):  # stopped after a directive: go on
        _both(buf, ref[0], mode, nfields, anchors)


@pytest.mark.parametrize("mode", [scantables.COMMON, scantables.COMBINED, scantables.IIS])
def test_every_offset_in_the_blocks_and_at_the_end(mode) -> None:
    """Quotes, brackets, anchors, backslashes and line ends at every offset of the 64-byte
    blocks, and buffers of every length near a block (the last bytes are read one by one)."""
    lines = []
    for pad in range(80):
        lines += [POOL[3].replace(b"/a.html", b"/" + b"p" * pad + b".html"),
                  POOL[2].replace(b"default", b"d" * pad), b"x" * pad,
                  POOL[3].replace(b"M [en]", b"M" * pad + b'\\"'),
                  POOL[6].replace(b"GET", b"G" * (pad + 1))]
    buf = b"\n".join(lines) + b"\n"
    _both(buf, 0, mode, 7, ANCHORS)
    for size in range(1, 200):
        part = buf[:size]
        cut = part.rfind(b"\n") + 1
        if cut:
            _both(part[:cut], 0, mode, 7, ANCHORS)


def test_more_first_bytes_than_the_vector_sets_hold() -> None:
    """Over four distinct first (or second) bytes, every byte may begin an anchor: slower,
    the same answer."""
    anchors = (b"ab", b"cd", b"ef", b"gh", b"ij", b".i", b"/.", b"x\x00")
    buf = b"\n".join(POOL * 3 + [b"ABxCDxEFx\x00", b"zzGHIJ", b"x\x00"]) + b"\n"
    for mode in (scantables.COMMON, scantables.COMBINED, scantables.IIS):
        _both(buf, 0, mode, 7, anchors)


def test_bad_calls_are_refused() -> None:
    args = scantables.kernel_args(ANCHORS, scantables.COMMON)
    with pytest.raises(ValueError, match="newline"):
        cscan.scan_block(b"no newline", 0, scantables.COMMON, 0, *args)
    with pytest.raises(ValueError, match="outside"):
        cscan.scan_block(b"x\n", 3, scantables.COMMON, 0, *args)
    with pytest.raises(ValueError, match="mode"):
        cscan.scan_block(b"x\n", 0, 7, 0, *args)
    assert cscan.scan_block(b"x\n", 2, scantables.COMMON, 0, *args)[:3] == (2, 0, 0)
    assert cscan.scan_block(b"", 0, scantables.COMMON, 0, *args)[3].shape == (0, scantables.ROW)


# (C scanner, compiled from this size, FAST, workers): C on one and two threads, Numba on one
# and two, the NumPy checks (neither compiled scanner: the input is below Numba's size), the
# reference
PATHS = [(True, 0, True, 1), (True, 0, True, 2), (False, 0, True, 1), (False, 0, True, 2),
         (False, 1 << 40, True, 1), (True, 0, False, 1)]


def _reports(tmp_path, data: bytes, fmt: str, monkeypatch):
    path = tmp_path / "x.log"
    path.write_bytes(data)
    out = []
    for c, big, fast, workers in PATHS:
        monkeypatch.setattr(log_reader, "C_SCANNER", c)
        monkeypatch.setattr(log_reader, "COMPILED_MIN_BYTES", big)
        monkeypatch.setattr(log_reader, "_compiled_state", None if big else True)
        monkeypatch.setattr(log_reader, "FAST", fast)
        rep = scan_inputs([str(path)], RULES, fmt, workers)
        f = rep.files[0]
        out.append(((f.lines, f.blank, f.directives, f.malformed, f.malformed_examples,
                     f.parsed_candidates), rep.to_json()))
    return out


@pytest.mark.parametrize("fmt", ["common", "combined", "iis"])
@FUZZ
@given(lines=st.lists(_line(), min_size=1, max_size=25), newline=st.booleans(),
       chunk=st.sampled_from([97, 500, 1 << 22]))
def test_reader_with_c_numba_and_reference_agree(tmp_path, monkeypatch, fmt, lines, newline,
                                                 chunk) -> None:
    """Every format, chunks cut anywhere, a last line with or without its newline, one and
    two threads: the same counts, examples and report on every path (C, Numba, NumPy, the
    per-line reference)."""
    monkeypatch.setattr(log_reader, "CHUNK_BYTES", chunk)
    data = b"x" + b"\n".join(lines) + (b"\n" if newline else b"")  # "x": no magic bytes
    if fmt == "iis":
        data = b"#Fields: date time c-ip cs-method cs-uri-stem cs-uri-query sc-status\n" + data
    first, *rest = _reports(tmp_path, data, fmt, monkeypatch)
    for other in rest:
        assert other == first


def test_without_the_extension_the_numba_kernel_scans(tmp_path, monkeypatch) -> None:
    """When the C extension does not import, the reader uses the Numba kernel, with the same
    report."""
    path = tmp_path / "a.log"
    path.write_bytes(b"\n".join(POOL * 5) + b"\n")
    monkeypatch.setattr(log_reader, "COMPILED_MIN_BYTES", 0)
    with_c = scan_inputs([str(path)], RULES, "combined", 2).to_json()
    import wormlab.detect

    monkeypatch.setitem(sys.modules, "wormlab.detect._linescan", None)  # import fails
    monkeypatch.delitem(sys.modules, "wormlab.detect.cscan")
    for name in ("cscan", "_linescan"):
        monkeypatch.delattr(wormlab.detect, name, raising=False)
    monkeypatch.setattr(log_reader, "_c_module", None)
    assert log_reader.c_scanner() is None and log_reader.scanner_name() == "Numba"
    assert scan_inputs([str(path)], RULES, "combined", 2).to_json() == with_c
    assert log_reader._c_module is False


def test_the_logs_command_imports_no_numba(tmp_path) -> None:
    """With the C scanner, the logs command loads neither Numba nor pydantic."""
    path = tmp_path / "a.log"
    path.write_bytes(b"\n".join(POOL * 5) + b"\n")
    code = ("import sys; from wormlab.cli import main; rc = main(['logs', sys.argv[1], '--json',"
            " '--workers', '2']); bad = {'numba', 'pydantic'} & set(sys.modules); "
            "assert not bad, bad; sys.exit(rc)")
    proc = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert '"sightings": ' in proc.stdout
