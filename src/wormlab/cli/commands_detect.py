"""Defender commands: ``logs`` (find worm requests in logs and captures) and ``infer``."""

from __future__ import annotations

from pathlib import Path

import typer

from wormlab.cli.app import app

_FILES = typer.Argument(..., help="Log files or captures (.pcap/.pcapng); '-' reads stdin. "
                                  ".gz, .bz2 and .xz are read transparently.")
_FORMAT = typer.Option("auto", "--format", help="auto, common, combined, nginx or iis.")
_SIGS = typer.Option(None, "--signatures", help="Extra TOML signature file (repeatable).")
_CSV = typer.Option(None, "--csv", help="Write the per-source table to this CSV file.")
_RULE = typer.Option(None, "--rule", help="Signature ids that count (default codered-v1v2).")
_AT_EXIT: list = []  # what the logs command registered to run at exit, once
_WORKERS = typer.Option(2, "--workers", min=1,
                        help="Threads scanning a big log (128 MB or more) at once; the result "
                             "is the same for any number.")


def _rules(signatures: list[Path] | None):
    from wormlab.detect import log_reader
    from wormlab.detect.signatures import load_ruleset

    log_reader.LEAN_NUMBA = True  # this process compiles no linear algebra

    return load_ruleset(list(signatures or []))


def _check_format(fmt: str) -> None:
    from wormlab.detect.log_formats import FORMAT_NAMES
    from wormlab.errors import InputError

    if fmt not in FORMAT_NAMES:
        raise InputError(f"unknown --format {fmt!r}; choose one of {', '.join(FORMAT_NAMES)}")


@app.command("logs")
def logs_cmd(
    files: list[str] = _FILES,
    fmt: str = _FORMAT,
    signatures: list[Path] = _SIGS,
    as_json: bool = typer.Option(False, "--json", help="Print the whole report as JSON."),
    csv_out: Path = _CSV,
    workers: int = _WORKERS,
) -> None:
    """Find Code Red, Nimda and their kin in web logs and packet captures."""
    import atexit
    import gc
    import os
    import sys

    # NumPy's OpenBLAS starts a thread per core when NumPy is first imported (here, unless a
    # caller did before), and they spin a while: about 0.14 s of CPU for a command that does no
    # linear algebra. One thread, unless the user says otherwise; the setting is only read at
    # that import, and is not left to the process's children.
    if "numpy" not in sys.modules and "OPENBLAS_NUM_THREADS" not in os.environ:
        os.environ["OPENBLAS_NUM_THREADS"] = "1"
        try:
            import numpy  # noqa: F401
        finally:
            del os.environ["OPENBLAS_NUM_THREADS"]

    # The report builds a dict per source and nothing here makes reference cycles: the
    # collector's passes over them (about 0.06 s per 70,000 sources) would find nothing to free.
    # At exit, what is alive (modules, Numba's tables) is frozen first, so the interpreter's
    # last collections skip it (about 0.1 s once Numba is loaded); a caller in the same
    # process (tests) is not affected before its own exit.
    enabled = gc.isenabled()
    gc.disable()
    try:
        _logs(files, fmt, signatures, as_json, csv_out, workers)
    finally:
        if enabled:
            gc.enable()
        if gc.freeze not in _AT_EXIT:
            _AT_EXIT.append(gc.freeze)
            atexit.register(gc.freeze)


_LOGS_VALUES = ("--format", "--signatures", "--csv", "--workers")  # options that take a value


def plain_logs_args(args: list[str]) -> tuple | None:
    """The arguments ``logs_cmd`` gets from Typer for a plain ``logs`` command line (``args``
    after ``logs``: files, ``--json`` and the options with a plain value, as ``--opt value``
    or ``--opt=value``), read without building the Typer command, which imports pydantic and
    costs about 0.1 s of CPU (a tenth of the command on the 1 GB benchmark log). None for
    anything else (help, an unknown, abbreviated or repeated option, a value that is empty or
    starts with ``-``, a worker count that is not plainly a positive number, no file), which
    Typer then reads as usual, with its messages. ``tests/test_detect_logs.py`` holds the two
    to the same arguments."""
    files: list[str] = []
    signatures: list[Path] = []
    values: dict[str, str] = {}
    as_json = False
    rest = iter(args)
    for arg in rest:
        if arg == "-" or not arg.startswith("-"):
            files.append(arg)
            continue
        if arg == "--json":
            as_json = True
            continue
        name, eq, value = arg.partition("=")
        if name not in _LOGS_VALUES:
            return None
        if not eq:
            value = next(rest, "")
        if not value or value.startswith("-"):
            return None
        if name == "--signatures":
            signatures.append(Path(value))
        elif name in values:
            return None
        else:
            values[name] = value
    workers = values.get("--workers", "2")
    if not files or not workers.isdigit() or not workers.isascii() or workers[0] == "0":
        return None
    csv_out = values.get("--csv")
    return (files, values.get("--format", "auto"), signatures or None, as_json,
            None if csv_out is None else Path(csv_out), int(workers))


def _logs(files: list[str], fmt: str, signatures: list[Path], as_json: bool,
          csv_out: Path | None, workers: int) -> None:
    from wormlab.detect.sightings import scan_inputs

    _check_format(fmt)
    report = scan_inputs(files, _rules(signatures), fmt, workers)
    if csv_out is not None:
        _write_csv(csv_out, report.source_rows())
    if as_json:
        import json
        import sys

        # indented on a terminal; compact on a pipe, where json's C encoder is 3x faster and
        # the per-source rows are written straight from the report's columns (the same text),
        # in parts (typer.echo of the whole: the same bytes, as the text holds no ANSI escape,
        # after copies of all of it)
        if sys.stdout.isatty():
            typer.echo(json.dumps(report.to_dict(), indent=2))
        else:
            out = sys.stdout
            for part in report.json_parts():
                out.write(part)
            out.write("\n")
            out.flush()
    else:
        _render_logs(report)
    for f in report.files:
        for w in f.warnings:
            typer.echo(f"warning: {f.path}: {w}", err=True)


def _write_csv(path: Path, rows: list[dict]) -> None:
    import csv

    from wormlab.errors import InputError

    fields = ["source", "variants", "rules", "confidence", "first_seen", "last_seen", "count",
              "statuses"]
    try:
        with open(path, "w", newline="", encoding="utf-8") as out:
            writer = csv.DictWriter(out, fieldnames=fields)
            writer.writeheader()
            writer.writerows(rows)
    except OSError as err:
        raise InputError(f"cannot write {path}: {err.strerror or err}") from None


def _render_logs(report) -> None:
    from rich.table import Table

    console = _console()
    sources = Table(title="Sources seen probing", title_justify="left")
    for col in ("source", "variants", "conf.", "first seen (UTC)", "last seen (UTC)", "count",
                "statuses"):
        sources.add_column(col, justify="right" if col in ("count", "conf.") else "left")
    rows = report.source_rows()
    for r in rows[:200]:
        sources.add_row(r["source"], r["variants"], f"{r['confidence']:.2f}", r["first_seen"],
                        r["last_seen"], str(r["count"]), r["statuses"])
    console.print(sources)
    if len(rows) > 200:
        console.print(f"… {len(rows) - 200} more sources (use --csv or --json for all)")
    timeline = Table(title="Hourly timeline", title_justify="left")
    for col in ("hour (UTC)", "sightings", "new sources", "unique sources"):
        timeline.add_column(col, justify="left" if col.startswith("hour") else "right")
    for r in report.timeline_rows():
        timeline.add_row(r["hour"], str(r["sightings"]), str(r["new_sources"]),
                         str(r["unique_sources"]))
    console.print(timeline)
    t = report.totals()
    console.print(f"inputs {t['inputs']} · lines {t['lines']} · packets {t['packets']} · "
                  f"malformed lines {t['malformed_lines']} · sightings {t['sightings']} · "
                  f"sources {t['sources']}")
    for variant, n in t["by_variant"].items():
        console.print(f"  {variant}: {n}")
    if t["hits_in_malformed_lines"]:
        console.print(f"  signature text in malformed lines: {t['hits_in_malformed_lines']}")
    for f in report.files:
        for lineno, text in f.malformed_examples[:3]:
            console.print(f"  malformed {f.path}:{lineno}: {text}", markup=False)


def _console():
    import sys

    from rich.console import Console

    # On a pipe, do not squeeze the table into 80 columns.
    return Console(highlight=False, width=None if sys.stdout.isatty() else 160)


@app.command("infer")
def infer_cmd(
    files: list[str] = _FILES,
    monitored: int = typer.Option(..., "--monitored-addresses",
                                  help="How many addresses the logs cover (65536 for a /16)."),
    probe_rate: float = typer.Option(None, "--probe-rate",
                                     help="Probes per second per infected host; estimated from "
                                          "repeat visits when omitted."),
    patch_rate: float = typer.Option(0.0, "--patch-rate-per-h",
                                     help="Rate at which an infected host stops scanning "
                                          "(patched, cleaned), per host and hour; 0 assumes "
                                          "hosts scan to the end."),
    rule_ids: list[str] = _RULE,
    until: str = typer.Option(None, "--until", help="End of the window, ISO UTC time "
                                                    "(default: the last sighting)."),
    fmt: str = _FORMAT,
    signatures: list[Path] = _SIGS,
    bootstrap: int = typer.Option(100, "--bootstrap", help="Bootstrap refits for intervals."),
    seed: int = typer.Option(0, "--seed", help="Seed of the bootstrap."),
    as_json: bool = typer.Option(False, "--json", help="Print the estimate as JSON."),
    workers: int = _WORKERS,
) -> None:
    """Estimate the global number of infected hosts from what a monitored block saw."""
    from wormlab.detect.inference import estimate_dict, infer_outbreak
    from wormlab.detect.sightings import scan_inputs
    from wormlab.detect.signatures import RuleSet

    _check_format(fmt)
    rules = _rules(signatures)
    chosen = RuleSet([rules.by_id(i) for i in (rule_ids or ["codered-v1v2"])])
    report = scan_inputs(files, chosen, fmt, workers)
    timed = [s for s in report.sources.values() if s.first_s is not None]
    first = [s.first_s for s in timed]
    last = [s.last_s for s in timed]
    counts = [s.count for s in timed]
    est = infer_outbreak(first, last, counts, monitored, probe_rate, _parse_time(until),
                         bootstrap=bootstrap, seed=seed, patch_rate_per_h=patch_rate)
    d = estimate_dict(est)
    if as_json:
        import json

        typer.echo(json.dumps(d, indent=2))
        return
    _render_infer(d)


def _parse_time(text: str | None) -> float | None:
    if text is None:
        return None
    from datetime import UTC, datetime

    from wormlab.errors import InputError

    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(f"--until {text!r} is not an ISO time like 2001-07-20T00:00Z") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def _render_infer(d: dict) -> None:
    from rich.table import Table

    console = _console()
    pct = round(d["confidence_level"] * 100)
    how = "estimated from repeat visits" if d["probe_rate_estimated"] else "given"
    console.print(f"sources seen {d['sources_seen']} by {d['end']} on "
                  f"{d['monitored_addresses']} monitored addresses; probe rate "
                  f"{d['probe_rate_per_s']:.3g}/s ({how}); patch rate "
                  f"{d['patch_rate_per_h']:.3g}/h")
    lo, hi = d["infected_at_end_ci"]
    console.print(f"infected hosts at {d['end']}: {d['infected_at_end']:,.0f} "
                  f"({pct}% interval {lo:,.0f}–{hi:,.0f})")
    klo, khi = d["growth_rate_per_h_ci"]
    console.print(f"logistic fit: plateau {d['plateau']:,.0f}, growth {d['growth_rate_per_h']:.2f}"
                  f"/h ({klo:.2f}–{khi:.2f}), midpoint {d['midpoint']}")
    table = Table(title="Hourly estimate", title_justify="left")
    for col in ("time (UTC)", "sources seen", "infected (est.)", f"{pct}% interval"):
        table.add_column(col, justify="left" if col.startswith("time") else "right")
    for h in d["hourly"]:
        table.add_row(h["time"], str(h["sources_seen"]), f"{h['infected']:,.0f}",
                      f"{h['infected_lo']:,.0f}–{h['infected_hi']:,.0f}")
    console.print(table)


@app.command("synth-log")
def synth_log_cmd(
    run_dir: Path = typer.Argument(..., help="A run directory written by 'wormlab run --out'."),
    server_address: str = typer.Option(..., "--server-address",
                                       help="The server's address (10.1.2.3) or a monitored "
                                            "block in CIDR form (10.1.0.0/16)."),
    fmt: str = typer.Option("apache", "--format", help="apache (combined) or iis (W3C)."),
    benign_rate: float = typer.Option(1.0, "--benign-rate",
                                      help="Benign requests per second to the whole block."),
    out: str = typer.Option("-", "--out", "-o", help="Output file ('-' stdout; .gz compresses)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the random draws."),
) -> None:
    """Write the log a server (or block) would have kept during a simulated outbreak."""
    from wormlab.detect.sightings import iso
    from wormlab.detect.synthesize import load_run, open_output, parse_block, synthesize

    block = parse_block(server_address)
    run = load_run(run_dir)
    for w in run.warnings:
        typer.echo(f"warning: {w}", err=True)
    stream = open_output(out)
    try:
        st = synthesize(run, stream, block, fmt, benign_rate, seed)
    finally:
        if out != "-":
            stream.close()
    truth = st.ever_infected_at_end
    typer.echo(f"wrote {st.lines} lines ({st.worm_lines} worm probes from {st.worm_sources} "
               f"sources, {st.benign_lines} benign) for {st.monitored_addresses} monitored "
               f"address(es), {iso(st.start_s)} to {iso(st.end_s)}; run truth: "
               f"{'unknown' if truth is None else truth} hosts ever infected by the end",
               err=True)
