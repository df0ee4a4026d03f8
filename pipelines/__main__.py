"""``python -m gaitstream.pipelines worker`` runs the Faust worker (as ``faust -A gaitstream.pipelines.app worker``)."""

from gaitstream.pipelines.app import main

main()
