"""A capable model as the precision filter: every blocking finding of the rules is put to it once.

Rules are fast and repeatable, but they read words, not meaning; a model of 1B parameters or
more (or a served model) can tell "we mask the PAN before logging" from "we log the PAN". So,
when a model takes part (``Grounding.ask``), each critical or recommendation finding raised by
a rule (coverage or a check, not by the model itself, not injection) becomes one narrow question
over its own evidence and the requirement it rests on:

* a finding that **shows** something: "Does the passage show that <the finding's title>?" over the
  passages it quotes; a confident "no" refutes it;
* a finding about something **absent**: "Does any of these passages describe <what is missing>?"
  over the deciding passages nearest to it; a confident "yes" refutes it.

A refuted finding is downgraded to a suggestion, never silently dropped, and every asked
finding keeps the answer in ``model_verdict`` (``yes`` confirms, ``no`` refutes, ``unclear``).
With the embedded 135M model nothing is asked: its answers agreed with the rules on 56 % of
118 checks (README, "How a review is grounded"), no better than chance for a yes/no question.
"""

from __future__ import annotations

from collections.abc import Sequence

from evaluator.documents.roles import DECIDING
from evaluator.documents.terms import content_stems
from evaluator.grounding.base import Grounding
from evaluator.grounding.profiles import Check
from evaluator.review.record import Finding

_BLOCKING = ("critical", "recommendation")
_NEAREST = 3


def verify(g: Grounding, checks: Sequence[Check]) -> Grounding:
    """Ask the model about each blocking rule finding (module docstring); no-op without a model."""
    if g.ask is None:
        return g
    by_id = {c.id: c for c in checks}
    g.findings = [_verified(f, g, by_id.get(f.check_id or "")) for f in g.findings]
    return g


def _verified(f: Finding, g: Grounding, check: Check | None) -> Finding:
    if g.ask is None or f.severity not in _BLOCKING or f.source not in ("check", "coverage"):
        return f
    requirement = f"{f.requirement_id}: {f.requirement_text}" if f.requirement_text else ""
    if f.evidence_kind == "shows":
        passages = [p for p in (g.passage(i) for i in f.passage_ids) if p is not None]
        if not passages:
            return f
        answer, _ = g.ask(f"Does the passage show that {_clause(f.title)}?", passages, requirement)
        verdict = answer
    else:
        wanted = check.missing if check is not None and check.missing else f.requirement_text
        nearest = [p for p, _ in g.retriever.search(content_stems(wanted + " " + " ".join(f.searched_for)), 12)]
        passages = [p for p in nearest if p.role in DECIDING][:_NEAREST]
        if not passages:
            return f
        answer, _ = g.ask(f"Does any of these passages describe {wanted}?", passages, requirement)
        verdict = {"yes": "no", "no": "yes"}.get(answer, "unclear")  # the design describes it: refuted
    if verdict not in ("yes", "no"):
        verdict = "unclear"
    if verdict == "no":
        return f.model_copy(update={"severity": "suggestion", "model_verdict": "no"})
    return f.model_copy(update={"model_verdict": verdict})


def _clause(title: str) -> str:
    """A finding's title inside a question: "Personal data is written to the logs" -> "personal data is …"."""
    return title[:1].lower() + title[1:] if title[1:2].islower() else title
