"""``python -m wormlab`` is the ``wormlab`` command."""

from wormlab.cli import main

main()
