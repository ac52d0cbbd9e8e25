"""``python -m evaluator`` runs the command-line interface."""

from evaluator.cli.main import main

main()
