"""``python -m pipelines worker`` runs the Faust worker (as ``faust -A pipelines.app worker``)."""

from pipelines.app import main

main()
