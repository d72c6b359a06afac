"""The command line: a thin skin over the Python API.

Each file in this folder registers the commands of one area on the shared Typer ``app``
(``commands_run`` for simulation, ``commands_detect`` for logs, ...). Command bodies import heavy
libraries lazily so that ``wormlab --help`` answers quickly.
"""

from __future__ import annotations

import sys

from wormlab.cli.app import app, run_app

# Importing a commands module registers its commands on ``app``, in this order in --help.
# isort: off
from wormlab.cli import commands_run  # noqa: E402,F401
from wormlab.cli import commands_detect  # noqa: E402,F401
from wormlab.cli import commands_models  # noqa: E402,F401
from wormlab.cli import commands_validate  # noqa: E402,F401
from wormlab.cli import commands_report  # noqa: E402,F401
from wormlab.cli import commands_sweep  # noqa: E402,F401
from wormlab.cli import commands_defense  # noqa: E402,F401
# isort: on

__all__ = ["app", "main"]


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``wormlab`` script; returns the exit status."""
    code = run_app(sys.argv[1:] if argv is None else argv)
    if argv is None:
        raise SystemExit(code)
    return code
