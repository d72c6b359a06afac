"""Log reading: every format, compression, stdin, malformed and overlong lines, the CLI."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wormlab.cli import main
from wormlab.detect import log_reader
from wormlab.detect.sightings import scan_inputs
from wormlab.detect.signatures import load_ruleset
from wormlab.errors import InputError

N = "N" * 224
TAIL = ("%u9090%u6858%ucbd3%u7801%u9090%u6858%ucbd3%u7801%u9090%u6858%ucbd3%u7801%u9090"
        "%u9090%u8190%u00c3%u0003%u8b00%u531b%u53ff%u0078%u0000%u00=a")
CR = f"/default.ida?{N}{TAIL}"
CR2 = f"/default.ida?{'X' * 224}{TAIL}"

COMMON = [
    '198.51.100.4 - - [19/Jul/2001:10:02:11 -0700] "GET /index.html HTTP/1.0" 200 2326',
    f'192.0.2.10 - - [19/Jul/2001:10:03:00 -0700] "GET {CR} HTTP/1.0" 400 -',
    f'192.0.2.10 - - [19/Jul/2001:11:10:00 -0700] "GET {CR} HTTP/1.0" 400 -',
    '192.0.2.20 - - [04/Aug/2001:09:00:00 +0000] "GET /scripts/root.exe?/c+dir HTTP/1.0" 404 283',
]
COMBINED = [
    ('198.51.100.4 - frank [19/Jul/2001:10:02:11 -0700] "GET /a.html HTTP/1.1" 200 231 '
    '"http://example.com/" "Mozilla/4.76 [en] (X11; U; Linux 2.4.2 i686)"'),
    f'192.0.2.11 - - [19/Jul/2001:10:04:00 -0700] "GET {CR2} HTTP/1.0" 404 291 "-" "-"',
    ('192.0.2.12 - - [18/Sep/2001:14:00:00 +0000] "GET /scripts/..%255c../winnt/system32/cmd.exe'
    '?/c+dir HTTP/1.0" 404 308 "-" "-"'),
    '198.51.100.5 - - [18/Sep/2001:14:00:01 +0000] "GET /say \\"hi\\" HTTP/1.0" 200 5 "-" "x"',
]
NGINX = [  # nginx's default "combined" log_format
    ('203.0.113.9 - - [19/Jul/2001:17:05:01 +0000] "GET /favicon.ico HTTP/1.1" 404 0 "-" '
    '"Mozilla/5.0"'),
    f'192.0.2.13 - - [19/Jul/2001:17:06:01 +0000] "GET {CR} HTTP/1.0" 400 0 "-" "-"',
]
IIS = [
    "#Software: Microsoft Internet Information Services 5.0",
    "#Version: 1.0",
    "#Date: 2001-07-19 17:00:00",
    ("#Fields: date time c-ip cs-username s-ip s-port cs-method cs-uri-stem cs-uri-query "
    "sc-status cs(User-Agent)"),
    ("2001-07-19 17:03:12 192.0.2.30 - 10.0.0.5 80 GET /default.htm - 200 "
    "Mozilla/4.0+(compatible;+MSIE+5.5)"),
    f"2001-07-19 17:04:00 192.0.2.31 - 10.0.0.5 80 GET /default.ida {N}{TAIL} 200 -",
    "#Fields: time c-ip cs-method cs-uri-stem cs-uri-query sc-status date",
    "17:05:00 192.0.2.32 GET /scripts/..%c1%1c../winnt/system32/cmd.exe /c+dir 404 2001-09-18",
]


def _write(tmp_path, name, lines, opener=open):
    path = tmp_path / name
    with opener(path, "wb") as out:
        out.write(("\n".join(lines) + "\n").encode())
    return str(path)


def _scan(*paths, fmt="auto"):
    return scan_inputs(list(paths), load_ruleset(), fmt)


@pytest.mark.parametrize(("lines", "fmt", "expect"), [
    (COMMON, "common", {"192.0.2.10": ("Code Red v1/v2", 2), "192.0.2.20":
                        ("root.exe backdoor probe", 1)}),
    (COMBINED, "combined", {"192.0.2.11": ("Code Red II", 1), "192.0.2.12": ("Nimda", 1)}),
    (NGINX, "combined", {"192.0.2.13": ("Code Red v1/v2", 1)}),
    (IIS, "iis", {"192.0.2.31": ("Code Red v1/v2", 1), "192.0.2.32": ("Nimda", 1)}),
])
def test_each_format_is_detected_and_matched(tmp_path, lines, fmt, expect) -> None:
    report = _scan(_write(tmp_path, "access.log", lines))
    assert report.files[0].format == fmt
    assert report.files[0].malformed == 0
    got = {s.source: (next(iter(s.variants)), s.count) for s in report.sources.values()}
    assert got == expect


def test_times_are_utc_and_timeline_counts_sources(tmp_path) -> None:
    report = _scan(_write(tmp_path, "a.log", COMMON))
    src = report.sources["192.0.2.10"]
    rows = {r["source"]: r for r in report.source_rows()}
    assert rows["192.0.2.10"]["first_seen"] == "2001-07-19T17:03:00Z"  # -0700 -> UTC
    assert rows["192.0.2.10"]["last_seen"] == "2001-07-19T18:10:00Z"
    assert src.statuses == {"400": 2}
    timeline = report.timeline_rows()
    assert timeline[0] == {"hour": "2001-07-19T17:00:00Z", "sightings": 1, "new_sources": 1,
                           "unique_sources": 1}
    assert timeline[-1]["unique_sources"] == 2


def test_iis_query_is_joined_to_stem_and_fields_header_is_honoured(tmp_path) -> None:
    report = _scan(_write(tmp_path, "ex010719.log", IIS))
    assert report.files[0].directives == 5
    assert report.source_rows()[-1]["first_seen"] == "2001-09-18T17:05:00Z"


@pytest.mark.parametrize("opener", [gzip.open, bz2.open, lzma.open])
def test_compressed_logs_are_read_transparently(tmp_path, opener) -> None:
    path = _write(tmp_path, "access.log.z", COMMON, opener)
    report = _scan(path)
    assert report.sightings == 3 and report.files[0].lines == 4


def test_format_override_and_unrecognised_file(tmp_path) -> None:
    path = _write(tmp_path, "a.log", COMBINED)
    assert _scan(path, fmt="common").files[0].format == "common"
    junk = _write(tmp_path, "junk.log", ["hello world", "not a log"])
    with pytest.raises(InputError, match="cannot recognise the log format"):
        _scan(junk)
    with pytest.raises(InputError, match="cannot open"):
        _scan(str(tmp_path / "missing.log"))


def test_malformed_lines_are_counted_with_examples(tmp_path) -> None:
    lines = COMMON[:2] + ["truncated 192.0.2.99 - - [19/Jul", "\x00\x00binary"] + COMMON[2:]
    report = _scan(_write(tmp_path, "a.log", lines))
    f = report.files[0]
    assert (f.lines, f.malformed) == (6, 2)
    assert [n for n, _ in f.malformed_examples] == [3, 4]
    assert report.sightings == 3


def test_signature_in_a_malformed_line_is_reported_not_dropped(tmp_path) -> None:
    lines = COMMON + [f'192.0.2.66 - - [19/Jul/2001:10:03:00 -0700] "GET {CR} HTTP/1.0" 4']
    report = _scan(_write(tmp_path, "a.log", lines))
    assert report.hits_in_malformed_lines == 1
    assert report.files[0].malformed == 1


def test_overlong_line_is_skipped_in_bounded_memory(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(log_reader, "CHUNK_BYTES", 4096)
    monkeypatch.setattr(log_reader, "MAX_LINE_BYTES", 10_000)
    lines = COMMON[:2] + ["A" * 100_000] + COMMON[2:]
    report = _scan(_write(tmp_path, "a.log", lines))
    f = report.files[0]
    assert f.malformed == 1 and report.sightings == 3 and f.lines == 5


@pytest.mark.parametrize("chunk", [61, 97, 500, 4096])
def test_lines_split_across_reads_are_whole_once(tmp_path, monkeypatch, chunk) -> None:
    """Every chunk size gives the same lines, sightings and sources as one big read."""
    lines = (COMMON + COMBINED[:1]) * 7
    path = _write(tmp_path, "a.log", lines)
    whole = _scan(path)
    monkeypatch.setattr(log_reader, "CHUNK_BYTES", chunk)
    split = _scan(path)
    assert split.files[0].lines == whole.files[0].lines == len(lines)
    assert split.sightings == whole.sightings == 21
    assert {k: v.count for k, v in split.sources.items()} == {
        k: v.count for k, v in whole.sources.items()}


def test_truncated_gzip_keeps_what_was_read_and_warns(tmp_path) -> None:
    lines = COMMON * 200
    data = gzip.compress(("\n".join(lines) + "\n").encode())
    path = tmp_path / "cut.log.gz"
    path.write_bytes(data[: len(data) - 20])
    report = _scan(str(path))
    assert report.files[0].warnings and "truncated" in report.files[0].warnings[0]
    assert report.sightings > 0


def test_cli_logs_json_csv_and_stdin(tmp_path, capsys, monkeypatch) -> None:
    path = _write(tmp_path, "a.log", COMBINED)
    out_csv = tmp_path / "sources.csv"
    assert main(["logs", path, "--json", "--csv", str(out_csv)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["totals"]["sources"] == 2 and doc["totals"]["by_variant"]["Nimda"] == 1
    assert out_csv.read_text().splitlines()[0].startswith("source,variants")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO("\n".join(COMMON).encode())))
    assert main(["logs", "-"]) == 0
    out = capsys.readouterr().out
    assert "192.0.2.10" in out and "Code Red v1/v2" in out and "Hourly timeline" in out


def test_cli_logs_errors_exit_2(tmp_path, capsys) -> None:
    assert main(["logs", str(tmp_path / "nope.log")]) == 2
    assert capsys.readouterr().err.startswith("error: cannot open")
    assert main(["logs", "--format", "xml", str(tmp_path)]) == 2
    bad = tmp_path / "bad.toml"
    bad.write_text('[[rule]]\nid = "x"\nvarient = "typo"\n')
    path = _write(tmp_path, "a.log", COMMON)
    assert main(["logs", path, "--signatures", str(bad)]) == 2
    assert "'varient'" in capsys.readouterr().err


def test_cli_subprocess_clean_log_exits_0(tmp_path) -> None:
    path = _write(tmp_path, "a.log", COMMON[:1])
    cmd = [sys.executable, "-c", "from wormlab.cli import main; main()", "logs", path, "--json"]
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["totals"]["sightings"] == 0


_ARG_WORDS = ["a.log", "-", "b c.log", "--json", "--format", "--format=iis", "combined", "--csv",
              "--csv=o.csv", "--signatures", "--signatures=s.toml", "x.toml", "--workers",
              "--workers=1", "3", "03", "+2", "0", "--help", "-h", "--", "--jsn", "--format=",
              "--work", "-x", "", "³", "--version"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_ARG_WORDS), max_size=8))
def test_plain_logs_arguments_are_what_typer_gives(args) -> None:
    """``logs`` command lines read without Typer (``plain_logs_args``) give ``logs_cmd`` the
    arguments Typer would give it; every other line is left to Typer."""
    import contextlib

    from wormlab.cli import app, commands_detect

    plain = commands_detect.plain_logs_args(args)
    got: list[tuple] = []
    real = commands_detect._logs
    commands_detect._logs = lambda *a: got.append(a)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            try:
                app(args=["logs", *args], prog_name="wormlab", standalone_mode=False)
            except Exception:  # noqa: BLE001 - a usage error: Typer's to report
                got.append(None)
    finally:
        commands_detect._logs = real
    if plain is not None:
        assert got == [plain], (args, got, plain)


_IIS_TIME_BYTES = b"0123456789-:. x\xd9"


@settings(max_examples=400, deadline=None)
@given(st.sampled_from([b"2001-07-19", b"2001-02-30", b"2001-13-01", b"0000-01-01", b"2001-7-19"])
       | st.binary(max_size=11), st.sampled_from([b"10:23:45", b"23:59:60.5", b"99:99:99"])
       | st.text(alphabet=_IIS_TIME_BYTES.decode("latin-1"), max_size=11).map(
           lambda t: t.encode("latin-1")))
def test_iis_time_by_the_day_is_the_regex_parse(date, time) -> None:
    """parse_iis_time remembers each date's midnight and slices HH:MM:SS: the same answer as
    the regular expressions."""
    from wormlab.detect.log_formats import _parse_iis_time, parse_iis_time

    assert parse_iis_time(date, time) == _parse_iis_time(date, time)
    assert parse_iis_time(date, time) == _parse_iis_time(date, time)  # remembered


def _iis_parse_reference(parser, line: bytes):
    """IisParser.parse as it was written before it was made faster (one closure per column)."""
    from wormlab.detect.log_formats import Request, _parse_iis_time, _text

    cols = line.split(b" ")
    if len(cols) != len(parser.fields) or parser.i_src is None or parser.i_stem is None:
        return None

    def col(i):
        return "-" if i is None else _text(cols[i])

    target, query = col(parser.i_stem), col(parser.i_query)
    if query not in ("-", ""):
        target = f"{target}?{query}"
    when = None
    if parser.i_date is not None and parser.i_time is not None:
        when = _parse_iis_time(cols[parser.i_date], cols[parser.i_time])
        if when is None:
            return None
    status = col(parser.i_status)
    if status != "-" and not status.isdigit():
        return None
    agent = col(parser.i_agent)
    return Request(col(parser.i_src), when, col(parser.i_method), target, status,
                   "" if agent == "-" else agent.replace("+", " "))


_IIS_FIELDS = ["date", "time", "c-ip", "cs-method", "cs-uri-stem", "cs-uri-query", "sc-status",
               "cs(User-Agent)", "s-port"]
_IIS_VALUES = [b"2001-07-19", b"17:04:00", b"192.0.2.31", b"GET", b"/default.ida", b"NNN=a",
               b"-", b"", b"200", b"40x", b"Mozilla/4.0+(compatible)", b"\xd9x", b"10:00:00.5"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_IIS_FIELDS), min_size=1, max_size=9, unique=True), st.data())
def test_iis_parse_is_what_it_was(fields, data) -> None:
    """Any #Fields: layout, any columns (missing, extra, undecodable, bad times and statuses)."""
    from wormlab.detect.log_formats import IisParser

    n = len(fields) + data.draw(st.sampled_from([0, 0, 0, -1, 1]))
    values = data.draw(st.lists(st.sampled_from(_IIS_VALUES), min_size=n, max_size=n))
    parser = IisParser()
    parser.set_fields(fields)
    line = b" ".join(values)
    assert parser.parse(line) == _iis_parse_reference(parser, line)
