"""The grounded review's analyses, beside the model: one interface, each adds findings with its
``source``. :mod:`.base` holds the case as the analyses see it (:class:`Grounding`) and every
analysis' result type; :mod:`.coverage` traces requirements, :mod:`.checks` runs a profile's
checks (with :mod:`.detectors`), :mod:`.injection` flags text aimed at the reviewer,
:mod:`.retrieval` ranks passages, and :mod:`.profiles` loads reviewers and checks as data."""

from evaluator.grounding.base import Analysis, Grounding, run_analyses

__all__ = ["Analysis", "Grounding", "run_analyses"]
