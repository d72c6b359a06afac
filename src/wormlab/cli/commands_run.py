"""Simulation commands: ``run``, ``scenarios``, ``show`` and ``calibrate``."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from wormlab.cli.app import app
from wormlab.cli.progress import progress_bar


@app.command("scenarios")
def scenarios_cmd() -> None:
    """List the built-in scenarios with a one-line description."""
    import tomllib

    from wormlab.scenario import builtin_names, builtin_path

    for name in builtin_names():
        raw = tomllib.loads(builtin_path(name).read_text(encoding="utf-8"))
        typer.echo(f"{name:28s} {raw.get('description', '')}")


@app.command("show")
def show_cmd(name: str = typer.Argument(..., help="A built-in scenario name or a .toml path.")) -> None:
    """Print a scenario's TOML (a built-in one can be copied and edited)."""
    from wormlab.scenario import builtin_path, load_scenario

    sc = load_scenario(name)  # validates, and lists the known names on a typo
    path = Path(name) if Path(name).is_file() else builtin_path(sc.name)
    typer.echo(path.read_text(encoding="utf-8").rstrip("\n"))


def _summary_table(summary: dict, out_dir: Path | None) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{summary['scenario']}  (seed {summary['seed']})", show_header=False)
    table.add_column("quantity", style="bold")
    table.add_column("value", justify="right")
    rows = [
        ("vulnerable hosts", f"{summary['vulnerable_hosts']:,}"),
        ("window (UTC)", f"{summary['start']} .. {summary['end']}"),
        ("ever infected", f"{summary['ever_infected']:,}"),
        ("infected at end", f"{summary['infected_at_end']:,}"),
        ("patched at end", f"{summary['patched_at_end']:,}"),
        ("peak new infections / min", f"{summary['peak_new_infections_per_minute']:,.0f} at {summary['peak_time']}"),
        ("half of hosts infected at", str(summary["time_to_half_vulnerable"])),
        ("early doubling time", f"{summary['early_doubling_minutes']} min"),
        ("probes simulated", f"{summary['probes_total']:,}"),
        ("flood at " + summary["flood_target"],
         f"peak {summary['flood_peak_packets_per_s']:,.0f} packets/s, {summary['flood_peak_bytes_per_s'] / 1e6:,.1f} MB/s"),
        ("wall time", f"{summary['wall_seconds']:.3f} s"),
    ]
    for k, v in rows:
        table.add_row(k, v)
    console = Console()
    console.print(table)
    if out_dir is not None:
        console.print(f"results in {out_dir}/ (timeseries.parquet, hosts.parquet, summary.json, infection.png)")


@app.command("run")
def run_cmd(
    scenario: str = typer.Argument(..., help="A built-in scenario name (see `wormlab scenarios`) or a .toml path."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the run; the same seed gives the same run, bit for bit."),
    set_: list[str] | None = typer.Option(None, "--set", help="Override a scenario key, e.g. --set worm.probe_rate_per_s=6 (repeatable)."),
    out: Path | None = typer.Option(None, "--out", help="Output folder [default: runs/<scenario>-seed<seed>/]."),
    json_out: bool = typer.Option(False, "--json", help="Print summary.json on stdout instead of a table."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No table, no progress bar."),
    no_plot: bool = typer.Option(False, "--no-plot", help="Skip infection.png."),
    runs: int = typer.Option(1, "--runs", min=1, help="Runs in an ensemble; above 1, seeds are spawned from --seed "
                             "and results go to a sweep store (see docs/sweeps.md)."),
    workers: int | None = typer.Option(None, "--workers", min=1, help="Ensemble: local Dask worker processes "
                                          "[default: one per core]."),
    scheduler: str | None = typer.Option(None, "--scheduler", help="Ensemble: a running Dask scheduler, "
                                            "e.g. tcp://HOST:8786."),
    org: str | None = typer.Option(None, "--org", help="Also print this organisation's view: its hosts "
                                   "infected over time and which defences helped (docs/defenses.md)."),
) -> None:
    """Simulate one outbreak and write timeseries.parquet, hosts.parquet, summary.json and infection.png.

    With --runs N (N > 1): an ensemble of N runs on Dask, stored and queried like a sweep.
    """
    if runs > 1 and org is not None:
        from wormlab.errors import ScenarioError

        raise ScenarioError("--org: works with one run only (no --runs)")
    if runs > 1:
        from wormlab.cli.commands_sweep import run_ensemble

        run_ensemble(scenario, runs, seed, set_ or [], out, workers, scheduler, quiet)
        return
    from wormlab.engine.simulate import simulate
    from wormlab.scenario import load_scenario

    sc = load_scenario(scenario, overrides=set_ or [])
    if org is not None:
        from wormlab.defenses.org_view import check_org

        check_org(sc, org)  # before the run: an unknown name is a one-line error, exit 2
    out_dir = out if out is not None else Path("runs") / f"{sc.name}-seed{seed}"
    if out_dir.exists() and not out_dir.is_dir():
        raise typer.BadParameter(f"{out_dir} exists and is not a folder", param_hint="--out")
    with progress_bar(f"simulating {sc.name}", enabled=not quiet) as update:
        result = simulate(sc, seed=seed, progress=update)
    result.to_dir(out_dir, plot=not no_plot)
    if json_out:
        typer.echo(json.dumps(result.summary, indent=2))
    elif not quiet:
        _summary_table(result.summary, out_dir)
    if org is not None:
        from wormlab.defenses.org_view import org_summary

        typer.echo(org_summary(result, org), err=json_out)  # stdout stays pure JSON with --json


@app.command("calibrate")
def calibrate_cmd(
    runs: int = typer.Option(20, "--runs", min=1, max=1000, help="Seeds in the ensemble."),
    seed: int = typer.Option(0, "--seed", min=0, help="First seed; runs use seed .. seed+runs-1."),
    json_out: bool = typer.Option(False, "--json", help="Print the rows as JSON."),
) -> None:
    """Compare codered-2001-07-19 with what was measured in 2001 (the calibration table)."""
    from wormlab.calibration import calibration_table, markdown_table, rows_as_dicts

    with progress_bar("calibrating", enabled=not json_out) as update:
        rows, extra = calibration_table(runs=runs, root_seed=seed, progress=update)
    if json_out:
        typer.echo(json.dumps({"rows": rows_as_dicts(rows), **extra}, indent=2))
    else:
        typer.echo(markdown_table(rows, extra))
    if not all(r.passed for r in rows):
        raise typer.Exit(1)
