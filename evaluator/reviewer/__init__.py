"""Reviewing one case with a model: the engine (:mod:`.engine`), what a review is made with
(:mod:`.setup`: profile, prompts and settings, loaded and checked in one place), the prose it
composes from the analyses (:mod:`.compose`), the prompt templates (:mod:`.prompts`) and what
the model is asked to generate (:mod:`.schemas`)."""

from evaluator.reviewer.engine import Reviewer, ReviewSettings
from evaluator.reviewer.setup import ReviewSetup

__all__ = ["ReviewSettings", "ReviewSetup", "Reviewer"]
