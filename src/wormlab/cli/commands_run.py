"""Simulation commands: run, scenarios, show."""

from __future__ import annotations

from wormlab.cli.app import app


@app.command("scenarios")
def scenarios_cmd() -> None:
    """List the built-in scenarios with a one-line description."""
    raise NotImplementedError
