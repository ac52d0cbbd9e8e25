"""The capable model as the precision filter (:mod:`evaluator.grounding.verify`), with a scripted
model: what it is asked, and what its answer does to a blocking finding of the rules."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from evaluator.documents.passages import Passage
from evaluator.grounding import Grounding, run_analyses
from evaluator.grounding.checks import CheckAnalysis
from evaluator.grounding.coverage import CoverageAnalysis
from evaluator.grounding.profiles import load_profile
from evaluator.grounding.reconcile import reconcile
from evaluator.grounding.verify import verify
from tests.support.data import doc

PROFILE = load_profile()

REQUIREMENTS = """# Requirements

- NFR-1: Personal data (e-mail, phone) must never appear in application logs.
- NFR-2: A message that cannot be processed must not block the partition; it shall be set aside for inspection.
"""

DESIGN = """# Notifications service

## Consumers

The `notifications` consumer reads the `parcel-events` Kafka topic and sends an SMS per event.

## Logging

Each SMS sent is logged at INFO with the recipient's phone number and the template used.
"""


@dataclass
class ScriptedModel:
    """Answers every question with ``answer``; records what it was asked."""

    answer: str
    asked: list[tuple[str, list[str], str]] = field(default_factory=list)

    def __call__(self, question: str, passages: Sequence[Passage], requirement: str = "") -> tuple[str, list[str]]:
        self.asked.append((question, [p.id for p in passages], requirement))
        return self.answer, [p.id for p in passages[:1]]


def _reviewed(model: ScriptedModel) -> Grounding:
    g = Grounding.of(doc(REQUIREMENTS, "requirements.md"), doc(DESIGN, "tech-design.md"))
    g = reconcile(run_analyses(g, [CoverageAnalysis(), CheckAnalysis(PROFILE.checks, PROFILE.technologies)]))
    g.ask = model  # the rules ran without a model; only the verification asks
    return verify(g, PROFILE.checks)


def _by_check(g: Grounding) -> dict[str | None, tuple[str, str | None]]:
    return {f.check_id: (f.severity, f.model_verdict) for f in g.findings if f.source == "check"}


def test_rule_findings_stand_unasked_without_a_model() -> None:
    g = Grounding.of(doc(REQUIREMENTS, "requirements.md"), doc(DESIGN, "tech-design.md"))
    g = verify(reconcile(run_analyses(g, [CheckAnalysis(PROFILE.checks, PROFILE.technologies)])), PROFILE.checks)
    found = _by_check(g)
    assert found["pii-in-logs"] == ("critical", None)
    assert found["consumer-dead-letter"][1] is None


def test_a_refuting_model_downgrades_each_blocking_finding_to_a_suggestion_and_says_so() -> None:
    # "no" to "does the passage show …" refutes what a passage shows; for an absence the question is
    # "does any passage describe …", so a refuting model answers "yes" to it
    shows = _by_check(_reviewed(ScriptedModel("no")))
    absent = _by_check(_reviewed(ScriptedModel("yes")))
    assert shows["pii-in-logs"] == ("suggestion", "no")
    assert absent["consumer-dead-letter"] == ("suggestion", "no")


def test_a_confirming_model_keeps_the_severity_and_an_unclear_answer_changes_nothing() -> None:
    assert _by_check(_reviewed(ScriptedModel("yes")))["pii-in-logs"] == ("critical", "yes")
    assert _by_check(_reviewed(ScriptedModel("no")))["consumer-dead-letter"][1] == "yes"
    unclear = _by_check(_reviewed(ScriptedModel("unclear")))
    assert unclear["pii-in-logs"] == ("critical", "unclear")


def test_each_question_is_narrow_and_carries_its_own_evidence_and_requirement() -> None:
    model = ScriptedModel("unclear")
    g = _reviewed(model)
    logs = next(f for f in g.findings if f.check_id == "pii-in-logs")
    question, passages, requirement = next(a for a in model.asked if a[0].startswith("Does the passage show"))
    assert "personal data is written to the logs" in question.lower()
    assert passages == logs.passage_ids and requirement.startswith("NFR-1:")
    absent = [a for a in model.asked if a[0].startswith("Does any of these passages describe")]
    assert absent and all(1 <= len(p) <= 3 for _, p, _ in absent)
    assert len(model.asked) == len([f for f in g.findings if f.model_verdict is not None])  # each asked once
