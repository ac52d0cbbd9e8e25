"""Analyses that run beside the model: one interface, each adds findings with its ``source``."""

from evaluator.analyses.base import Analysis, Grounding, run_analyses

__all__ = ["Analysis", "Grounding", "run_analyses"]
