"""Defence commands: ``compare`` (what each defence of a scenario buys, side by side) and ``orgs``
(one organisation's view of a run) and ``traffic`` (scan and flood traffic of a run, by AS)."""

from __future__ import annotations

from pathlib import Path

import typer

from wormlab.cli.app import app


@app.command("compare")
def compare_cmd(
    scenario: str = typer.Argument(..., help="A built-in scenario name or a .toml path with [[defenses]]."),
    seeds: int = typer.Option(3, "--seeds", min=1, max=100, help="Seeds per variant (0 .. N-1 from --seed)."),
    seed: int = typer.Option(0, "--seed", min=0, help="First seed."),
    defense: list[str] | None = typer.Option(None, "--defense", help="Only this defence (kind or label; repeatable)."),
    set_: list[str] | None = typer.Option(None, "--set", help="Override a scenario key (repeatable)."),
) -> None:
    """Run the baseline, each defence alone and all together; print a table of what each buys."""
    from wormlab.defenses.compare import compare, markdown
    from wormlab.scenario import load_scenario

    sc = load_scenario(scenario, overrides=set_ or [])
    if not sc.defenses:
        raise typer.BadParameter(f"{sc.name} has no [[defenses]]; see docs/defenses.md", param_hint="SCENARIO")
    rows = compare(sc, list(range(seed, seed + seeds)), only=defense or None,
                   progress=lambda name, s: typer.echo(f"  {name} seed {s}", err=True))
    typer.echo(markdown(rows, seeds))


@app.command("orgs")
def orgs_cmd(
    scenario: str = typer.Argument(..., help="A built-in scenario name or a .toml path."),
    org: str = typer.Option(..., "--org", help="Organisation name (see [network.organisations])."),
    seed: int = typer.Option(0, "--seed", min=0),
    set_: list[str] | None = typer.Option(None, "--set", help="Override a scenario key (repeatable)."),
) -> None:
    """One organisation's view of a run: its hosts infected over time, hour by hour."""
    from wormlab.defenses.org_view import org_view
    from wormlab.engine.simulate import simulate
    from wormlab.scenario import load_scenario

    sc = load_scenario(scenario, overrides=set_ or [])
    res = simulate(sc, seed=seed)
    typer.echo(org_view(res, org))


@app.command("traffic")
def traffic_cmd(
    run_dir: Path = typer.Argument(..., help="A run folder written by `wormlab run --out DIR`."),
    by_as: bool = typer.Option(False, "--by-as", help="Traffic sent by the hosts of each AS."),
    csv: bool = typer.Option(False, "--csv", help="Every record row as CSV on stdout (long form with --by-as)."),
    every: str = typer.Option("1h", "--every", help="Table: one line per this interval (a pandas offset)."),
    top: int = typer.Option(15, "--top", min=1, help="--by-as table: this many ASes, most traffic first."),
    probe_bytes: int = typer.Option(40, "--probe-bytes", min=1, help="Bytes of one scan probe (a TCP SYN)."),
) -> None:
    """Scan and flood traffic of a run over time (packets/s, bits/s), in total or by AS.

    Totals are the kernel's counts; the split by AS is derived from hosts.parquet (docs/defenses.md).
    """
    from wormlab.defenses.traffic import as_totals, traffic, traffic_by_as
    from wormlab.errors import InputError
    from wormlab.report.runset import load_run_dir
    from wormlab.result import Result

    data = load_run_dir(run_dir)
    if data.scenario is None or data.hosts is None:
        raise InputError(f"{run_dir}: want scenario.json and hosts.parquet from 'wormlab run --out DIR'")
    result = Result(scenario=data.scenario, seed=int(data.summary.get("seed", 0)),
                    timeseries=data.timeseries, hosts_table=data.hosts)
    if by_as:
        frame = traffic_by_as(result, probe_packet_bytes=probe_bytes)
        if csv:
            typer.echo(frame.to_csv(index=False), nl=False)
            return
        table = as_totals(frame, data.scenario.time.record_every_s).head(top)
        typer.echo(f"traffic sent by the hosts of each AS ({len(table)} of the most active; packets over the run)")
        typer.echo(table.to_string(index=False, float_format=lambda v: f"{v:,.0f}"))
        return
    frame = traffic(result, probe_packet_bytes=probe_bytes)
    if csv:
        typer.echo(frame.to_csv(index=False), nl=False)
        return
    try:
        picked = frame.set_index("time").resample(every, label="right", closed="right").mean()
    except ValueError as err:
        raise typer.BadParameter(str(err), param_hint="--every") from None
    cols = ["scan_packets_per_s", "scan_bits_per_s", "flood_packets_per_s", "flood_bits_per_s", "congestion_factor"]
    typer.echo(f"mean traffic per {every} (scan probes of {probe_bytes} B, flood packets of "
               f"{data.scenario.worm.flood_packet_bytes} B; congestion factor = probes sent / probes "
               "the infected hosts would send uncongested)")
    typer.echo(picked[cols].to_string(float_format=lambda v: f"{v:,.3g}" if v < 10 else f"{v:,.0f}"))
