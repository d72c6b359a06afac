"""Defence commands: ``compare`` (what each defence of a scenario buys, side by side) and ``orgs``
(one organisation's view of a run)."""

from __future__ import annotations

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
