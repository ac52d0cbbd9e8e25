"""Reviewing one case with a model: the engine (:mod:`.engine`), the prose it composes from the
analyses (:mod:`.compose`), the prompt templates (:mod:`.prompts`) and what the model is asked
to generate (:mod:`.schemas`)."""

from evaluator.reviewer.engine import Reviewer, ReviewSettings

__all__ = ["ReviewSettings", "Reviewer"]
