"""One exception family, so the CLI can print a message a person can act on and exit 2."""

from __future__ import annotations


class WormlabError(Exception):
    """Base of every error wormlab raises on purpose (bad input, bad scenario, unreadable file).

    The CLI prints ``str(err)`` on one line (no traceback) and exits with status 2.
    """

    exit_code = 2


class ScenarioError(WormlabError):
    """A scenario file or override is invalid: the message names the file, the key and what is allowed."""


class InputError(WormlabError):
    """A data file given on the command line cannot be read or has the wrong shape."""
