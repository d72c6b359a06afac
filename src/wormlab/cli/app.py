"""The shared Typer application and the error boundary of the CLI.

Every ``WormlabError`` raised below a command is printed as one line on stderr (``error: …``)
and ends the process with status 2; nothing else catches errors, so bugs still show tracebacks.
"""

from __future__ import annotations

from enum import IntEnum

import typer


class ExitStatus(IntEnum):
    OK = 0
    ERROR = 1
    BAD_INPUT = 2


app = typer.Typer(
    name="wormlab",
    help="A laboratory for Internet worm outbreaks, built around Code Red (July 2001).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", help="Print the version and exit."),
) -> None:
    """A laboratory for Internet worm outbreaks, built around Code Red (July 2001).

    It never sends a packet: every probe is simulated in memory.
    """
    if version:
        from wormlab import __version__

        typer.echo(__version__)
        raise typer.Exit(0)


def fail(message: str) -> typer.Exit:
    """Print a one-line error for a person and return the Exit to raise (status 2)."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(int(ExitStatus.BAD_INPUT))


def run_app(args: list[str]) -> int:
    """Run the CLI on ``args`` and return the exit status instead of exiting (testable)."""
    from wormlab.errors import WormlabError

    try:
        if args[:1] == ["logs"]:  # a plain logs command line skips Typer's parsing (pydantic)
            from wormlab.cli.commands_detect import logs_cmd, plain_logs_args

            plain = plain_logs_args(args[1:])
            if plain is not None:
                logs_cmd(*plain)
                return int(ExitStatus.OK)
        # In non-standalone mode click returns the code of an Exit (130 on Ctrl-C) instead of raising.
        rv = app(args=args, prog_name="wormlab", standalone_mode=False)
    except WormlabError as err:
        typer.echo(f"error: {err}", err=True)
        return int(ExitStatus.BAD_INPUT)
    except typer.Exit as exc:
        return int(exc.exit_code or 0)
    except SystemExit as exc:  # click may still raise SystemExit in some paths
        return int(exc.code or 0) if isinstance(exc.code, int) else 1
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        return 130
    except Exception as exc:  # click usage errors (Typer may ship its own copy of click)
        kinds = {cls.__name__ for cls in type(exc).__mro__}
        if "ClickException" in kinds:
            exc.show()
            return int(ExitStatus.BAD_INPUT)
        if "Abort" in kinds:
            typer.echo("aborted", err=True)
            return 130
        raise
    return rv if isinstance(rv, int) else 0
