"""Sweep commands: ``sweep``, ``query`` and ``rerun`` (and the ensemble form of ``run``).

Dask, DuckDB and pandas are imported inside the commands so ``wormlab --help`` stays fast.
"""

from __future__ import annotations

import math
from pathlib import Path

import typer

from wormlab.cli.app import app
from wormlab.cli.progress import progress_bar

QUERY_HELP = ("SQL over the views summaries, timeseries, failures, points; "
              "omit it to list the views and their columns.")


def _say(message: str) -> None:
    typer.echo(message, err=True)


def execute_plan(plan, out: Path, workers: int | None, scheduler: str | None, quiet: bool,
                 retry_failed: bool = False) -> None:
    """Run a plan into ``out``, then print the per-point table; exit 1 if runs failed or were lost."""
    from wormlab.sweep.runner import run_sweep

    with progress_bar("runs", enabled=not quiet, delay_s=0.5, runs=True) as update:
        outcome = run_sweep(plan, out, workers=workers, scheduler=scheduler, progress=update,
                            retry_failed=retry_failed, log=None if quiet else _say)
    if not quiet:
        _print_points(out)
        _say(f"{outcome.already_done + len(outcome.succeeded)} of {outcome.total} runs finished "
             f"in {out}/ ({len(outcome.succeeded)} now, {outcome.elapsed_s:.1f} s); "
             f"query with: wormlab query {out} \"SELECT ...\"")
    if outcome.failed or outcome.skipped_failed:
        _say(f"{len(outcome.failed) + outcome.skipped_failed} runs failed; see: wormlab query {out} "
             "\"SELECT run_index, seed, error FROM failures\"; re-run one with: wormlab rerun "
             f"{out} INDEX")
    if outcome.lost:
        _say(f"{len(outcome.lost)} runs did not come back from Dask (first: {outcome.lost_error}); "
             "run the same command again to resume")
    if not outcome.complete:
        raise typer.Exit(1)


def _print_points(out: Path) -> None:
    from wormlab.sweep import aggregate, store

    tables = store.load(out, timeseries=False)
    if tables.summaries.empty:
        return
    table = aggregate.point_table(tables.summaries, tables.points, metrics=("ever_infected", "infected_at_end"),
                                  quantiles=(0.05, 0.5, 0.95))
    _print_frame(table, title="per parameter point (quantiles over runs)")


def _print_frame(frame, title: str | None = None, csv: bool = False) -> None:
    if csv:
        typer.echo(frame.to_csv(index=False), nl=False)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    rows = [[_cell(v) for v in row] for row in frame.itertuples(index=False)]
    widths = [max([len(str(col))] + [len(r[j]) for r in rows]) for j, col in enumerate(frame.columns)]
    for col in frame.columns:
        table.add_column(str(col), justify="right" if frame[col].dtype.kind in "iuf" else "left")
    for row in rows:
        table.add_row(*row)
    # wide enough that no header or cell is cut: a query result must be read in full
    Console(width=max(80, sum(w + 3 for w in widths) + 1)).print(table)


def _cell(value) -> str:
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if value.is_integer() or abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.4g}"
    return str(value)


@app.command("sweep")
def sweep_cmd(
    sweep_file: Path = typer.Argument(..., help="A SWEEP.toml file (see docs/sweeps.md)."),
    out: Path | None = typer.Option(None, "--out", help="Sweep directory [default: the file's `out`, "
                                       "else sweeps/<file stem>/]."),
    workers: int | None = typer.Option(None, "--workers", min=1, help="Local Dask worker processes [default: one per core]; "
                                          "with --scheduler, wait until this many have joined."),
    scheduler: str | None = typer.Option(None, "--scheduler", help="Use a running Dask scheduler, e.g. tcp://HOST:8786."),
    retry_failed: bool = typer.Option(False, "--retry-failed", help="Also run again the runs that failed before."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar, no table."),
) -> None:
    """Run a grid or random sample over scenario keys times seeds; resumes where it stopped."""
    from wormlab.sweep.spec import load_sweep_file

    plan, file_out = load_sweep_file(sweep_file)
    target = out or file_out or Path("sweeps") / sweep_file.stem
    execute_plan(plan, target, workers, scheduler, quiet, retry_failed=retry_failed)


def run_ensemble(scenario: str, runs: int, root_seed: int, overrides: list[str], out: Path | None,
                 workers: int | None, scheduler: str | None, quiet: bool) -> None:
    """``wormlab run SCENARIO --runs N``: one parameter point, N seeds spawned from ``root_seed``."""
    from wormlab.sweep.spec import ensemble_plan

    plan = ensemble_plan(scenario, runs, root_seed=root_seed, overrides=overrides)
    target = out if out is not None else Path("runs") / f"{plan.scenario['name']}-x{runs}-seed{root_seed}"
    execute_plan(plan, target, workers, scheduler, quiet)


@app.command("query")
def query_cmd(
    sweep_dir: Path = typer.Argument(..., help="A sweep or ensemble directory."),
    sql: str | None = typer.Argument(None, help=QUERY_HELP),
    csv: bool = typer.Option(False, "--csv", help="Print CSV instead of a table."),
) -> None:
    """Query a sweep's results with DuckDB SQL; prints a table or CSV."""
    import duckdb

    from wormlab.errors import InputError
    from wormlab.sweep.store import connect

    con = connect(sweep_dir)
    try:
        if sql is None:
            sql = ("SELECT table_name AS view, string_agg(column_name, ', ' ORDER BY ordinal_position) AS columns "
                   "FROM information_schema.columns GROUP BY table_name ORDER BY table_name")
        try:
            frame = con.execute(sql).df()
        except duckdb.Error as err:
            raise InputError(f"query failed: {str(err).splitlines()[0]}") from None
    finally:
        con.close()
    _print_frame(frame, csv=csv)


@app.command("rerun")
def rerun_cmd(
    sweep_dir: Path = typer.Argument(..., help="A sweep or ensemble directory."),
    indices: list[int] = typer.Argument(..., help="Run indices to run again (in this process)."),
) -> None:
    """Run chosen runs of a sweep again by index, replacing their results or failure records."""
    from wormlab.sweep.runner import rerun

    outcome = rerun(sweep_dir, indices, log=_say)
    if outcome.failed:
        raise typer.Exit(1)
