"""Seeing results: ``plot`` (one figure), ``report`` (one self-contained HTML file), ``serve``
(the dashboard on loopback). Heavy libraries are imported inside the commands."""

from __future__ import annotations

from pathlib import Path

import typer

from wormlab.cli.app import app

KIND_HELP = "infection | rate | traffic | flood | map"


@app.command("plot")
def plot_cmd(
    directory: Path = typer.Argument(..., help="A run folder (from `wormlab run`) or a sweep/ensemble folder."),
    out: Path = typer.Option(..., "-o", "--out", help="Output file: .png, .svg or .pdf (the map also .gif, animated)."),
    kind: str = typer.Option("infection", "--kind", help=KIND_HELP),
    at: str | None = typer.Option(None, "--at", help="Map only: UTC time to draw, e.g. 2001-07-19T17:00Z [default: end of run]."),
    frames: int = typer.Option(48, "--frames", min=2, max=400, help="Map .gif only: number of frames."),
    point: int | None = typer.Option(None, "--point", min=0, help="Sweep folders: which parameter point [default: the first]."),
) -> None:
    """Draw one figure of a run or an ensemble (median and 5-95% band), UTC time axis."""
    from wormlab.errors import InputError
    from wormlab.report.figures import KINDS, save_figure
    from wormlab.report.runset import load_runs

    if kind not in KINDS:
        raise InputError(f"unknown --kind {kind!r}; choose one of {', '.join(KINDS)}")
    when = _parse_time(at) if at else None
    runset = load_runs(directory, with_hosts=kind == "map", point=point)
    path = save_figure(runset, kind, out, at=when, frames=frames)
    typer.echo(f"wrote {path}")


def _parse_time(text: str):
    import pandas as pd

    from wormlab.errors import InputError

    try:
        stamp = pd.Timestamp(text)
    except ValueError:
        raise InputError(f"--at {text!r}: not a time; use ISO 8601 such as 2001-07-19T17:00Z") from None
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


@app.command("report")
def report_cmd(
    directory: Path = typer.Argument(..., help="A run folder or a sweep/ensemble folder."),
    out: Path = typer.Option(..., "-o", "--out", help="The HTML file to write."),
    point: int | None = typer.Option(None, "--point", min=0, help="Sweep folders: which parameter point [default: the first]."),
) -> None:
    """Write one self-contained HTML report (no network needed to open it)."""
    from wormlab.report.html_report import check_output, write_report
    from wormlab.report.runset import load_runs

    check_output(out)
    path = write_report(load_runs(directory, point=point), out)
    typer.echo(f"wrote {path}")


@app.command("serve")
def serve_cmd(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (loopback by default)."),
    port: int = typer.Option(8000, "--port", min=0, max=65535, help="TCP port."),
    max_hosts: int = typer.Option(1_000_000, "--max-hosts", min=100, help="Most vulnerable hosts a request may ask for."),
    max_window_h: float = typer.Option(96.0, "--max-window-h", min=0.1, help="Longest simulated window a request may ask for, in hours."),
    queue: int = typer.Option(4, "--queue", min=1, max=64, help="Runs waiting at most; more are refused with 429."),
) -> None:
    """Serve the dashboard: tune defences, run, compare two runs, watch curves and the IPv4 map."""
    import uvicorn

    from wormlab.web.app import Limits, create_app

    limits = Limits(max_vulnerable_hosts=max_hosts, max_window_h=max_window_h, max_queued=queue)
    typer.echo(f"wormlab dashboard on http://{host}:{port}/  (Ctrl-C stops it)")
    uvicorn.run(create_app(limits), host=host, port=port, log_level="warning")
