"""What the analyses share: the documents as data, the one interface every analysis has, and
what each analysis records (:class:`Coverage`, :class:`CheckResult`, :class:`InjectionFlag`).

The result types live here, below the analyses that make them, so that :class:`Grounding`
can hold them without importing its own plug-ins."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from evaluator.documents.passages import Passage, passages
from evaluator.documents.read import Document
from evaluator.documents.requirements import Requirement, parse_requirements
from evaluator.grounding.profiles import Check
from evaluator.grounding.retrieval import Retriever
from evaluator.review.record import CoverageStatus, Finding
from evaluator.text import clip, one_line

_EVIDENCE_CHARS = 300

# (question, passages) -> ("yes" | "no" | "unclear", ids of the passages the answer rests on)
Ask = Callable[[str, Sequence[Passage]], tuple[str, list[str]]]


CheckStatus = Literal["passed", "failed", "absent", "not_applicable"]


@dataclass(frozen=True)
class Coverage:
    """How one requirement is addressed: status, term coverage (0–1) and evidence passages."""

    requirement: Requirement
    status: CoverageStatus
    score: float
    evidence: tuple[Passage, ...]


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check: status, how it was decided and its evidence passages."""

    check: Check
    status: CheckStatus
    decided_by: Literal["rule", "detector", "model", "absence", "requirements"]
    evidence: tuple[Passage, ...] = ()


@dataclass(frozen=True)
class InjectionFlag:
    """One suspicious passage: which document, what kind of attempt, and a short quote."""

    document: str  # "design" or "requirements"
    kind: str  # one of evaluator.grounding.injection.KINDS
    evidence: str

    @property
    def label(self) -> str:
        """The value stored in ``reviews.injection_flags``, e.g. ``design:instruction_override``."""
        return f"{self.document}:{self.kind}"


@dataclass
class Grounding:
    """A case as the analyses see it, and what they found.

    ``findings`` are added by the analyses in order; ``coverage`` by the coverage analysis;
    ``checks`` by the check analysis; ``injection_flags`` by the injection analysis. ``ask``
    is the narrow model question, or None when no model is asked (a small model, unit tests).
    """

    requirements_doc: Document
    design: Document
    requirements: list[Requirement]
    passages: list[Passage]
    retriever: Retriever
    ask: Ask | None = None
    coverage: list[Coverage] = field(default_factory=list)
    checks: list[CheckResult] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    injection_flags: list[InjectionFlag] = field(default_factory=list)

    @classmethod
    def of(cls, requirements: Document, design: Document, ask: Ask | None = None) -> Grounding:
        """Parse both documents and index the design's passages."""
        found = passages(design.text)
        return cls(requirements, design, parse_requirements(requirements.text), found, Retriever(found), ask)

    def passage(self, passage_id: str) -> Passage | None:
        """The passage with this id, if any."""
        index = int(passage_id[1:]) - 1 if passage_id[1:].isdigit() else -1
        return self.passages[index] if 0 <= index < len(self.passages) else None


class Analysis(Protocol):
    """One pass beside the model. ``source`` names it in every finding it adds."""

    source: str

    def run(self, g: Grounding) -> None:
        """Add findings (and whatever else it records) to ``g``."""
        ...


def run_analyses(g: Grounding, analyses: Sequence[Analysis]) -> Grounding:
    """Run each analysis in order over ``g``; return ``g``."""
    for analysis in analyses:
        analysis.run(g)
    return g


def evidence_of(found: Sequence[Passage]) -> dict[str, Any]:
    """Finding fields for evidence passages: the first one's text, heading and line span."""
    if not found:
        return {}
    first = found[0]
    text = clip(one_line(first.text), _EVIDENCE_CHARS, mark="")
    return {
        "section": first.heading,
        "evidence": text,
        "evidence_found": True,
        "line_start": first.line_start,
        "line_end": first.line_end,
        "passage_ids": [p.id for p in found],
    }
