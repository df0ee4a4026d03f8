"""``python -m gaitstream`` is the ``gaitstream`` command."""

from gaitstream.cli import main

main()
