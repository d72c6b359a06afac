"""``wormlab validate``: run the historical scenarios and compare them with the published record."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from wormlab.cli.app import app


@app.command("validate")
def validate_cmd(
    runs: int = typer.Option(20, "--runs", help="Seeds per historical scenario."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object per check, as a list."),
    workers: int = typer.Option(1, "--workers", help="Worker processes (runs are short: 1 is fastest)."),
    seed: int = typer.Option(1, "--seed", help="First seed of the ensemble."),
    set_: list[str] = typer.Option(
        [], "--set", help="KEY=VALUE override for every scenario, e.g. worm.probe_rate_per_s=2."
    ),
    write_docs: Path | None = typer.Option(
        None, "--write-docs", help="Also write validation.md and validation.png into this folder."
    ),
) -> None:
    """Validate the built-in historical scenarios against published observations.

    Exit status 0 only if every firm check passes (else 2, with the failed checks named);
    soft checks are reported, not failed.
    """
    from wormlab.errors import InputError, WormlabError
    from wormlab.history.validate import format_table, validate, verdict

    if seed < 0:
        raise InputError(f"--seed must be a non-negative integer, got {seed}")
    results, curves = validate(runs=runs, workers=workers, seed0=seed,
                               keep_curves=write_docs is not None, overrides=set_)
    if write_docs is not None:
        from wormlab.history.validation_doc import write_validation_docs

        for path in write_validation_docs(results, curves, write_docs, runs, seed):
            typer.echo(f"wrote {path}", err=True)
    if as_json:
        typer.echo(json.dumps([r.to_dict() for r in results], allow_nan=False, indent=1))
    else:
        typer.echo(format_table(results))
        ok = verdict(results)
        typer.echo(f"\n{'all firm checks pass' if ok else 'FAILED: a firm check does not pass'} "
                   f"({runs} seeds per scenario)")
    if not verdict(results):
        # Through the CLI's one error boundary: "error: …" on stderr and a non-zero status.
        failed = [r.check for r in results if r.confidence == "firm" and r.passed is False]
        raise WormlabError(f"validation failed: {len(failed)} firm check(s) do not pass "
                           f"({'; '.join(failed)})")
