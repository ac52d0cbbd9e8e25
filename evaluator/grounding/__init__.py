"""The grounded review's analyses, beside the model: one interface, each adds findings with its
``source``. :mod:`.base` holds the case as the analyses see it (:class:`Grounding`) and every
analysis' result type; :mod:`.coverage` traces requirements, :mod:`.checks` runs a profile's
checks (with :mod:`.detectors`), :mod:`.injection` flags text aimed at the reviewer,
:mod:`.retrieval` ranks passages, and :mod:`.profiles` loads reviewers and checks as data.

The names below are imported on first use: the CLI reads the default profile's name from
:mod:`.profiles` at start-up and must not load the parsers behind :mod:`.base`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from evaluator.lazy import lazy_exports

if TYPE_CHECKING:
    from evaluator.grounding.base import Analysis, Grounding, run_analyses

__all__ = ["Analysis", "Grounding", "run_analyses"]

__getattr__ = lazy_exports(__name__, dict.fromkeys(__all__, "evaluator.grounding.base"))
