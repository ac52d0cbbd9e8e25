"""``python -m evaluator`` runs the command-line interface."""

from evaluator.cli import main

main()
