"""What the analyses share: the documents as data, the one interface every analysis has, and
what each analysis records (:class:`Coverage`, :class:`CheckResult`, :class:`InjectionFlag`).

The result types live here, below the analyses that make them, so that :class:`Grounding`
can hold them without importing its own plug-ins."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal, Protocol

from evaluator.documents.passages import Hit, Passage, passages
from evaluator.documents.read import Document
from evaluator.documents.requirements import Requirement, parse_requirements
from evaluator.documents.terms import content_stems
from evaluator.grounding.code import CodeFacts, read_code
from evaluator.grounding.profiles import Check
from evaluator.grounding.retrieval import Retriever
from evaluator.grounding.subject import Subject
from evaluator.grounding.tracing import Linker, design_linker
from evaluator.review.record import CoverageStatus, Finding

_EVIDENCE_CHARS = 300
_NEAREST = 24  # passages ranked before those that cannot address a requirement are set aside


class Ask(Protocol):
    """A narrow model question: (question, passages, the requirement it concerns or "") ->
    ("yes" | "no" | "unclear", ids of the passages the answer rests on)."""

    def __call__(self, question: str, passages: Sequence[Passage], requirement: str = "") -> tuple[str, list[str]]: ...


CheckStatus = Literal["passed", "failed", "absent", "not_applicable"]


@dataclass(frozen=True)
class Coverage:
    """How one requirement is addressed: status, term coverage (0–1), evidence passages, and for a
    contradiction the words of the decision against it."""

    requirement: Requirement
    status: CoverageStatus
    score: float
    evidence: tuple[Passage, ...]
    shows: Hit | None = None


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check: status, how it was decided, its evidence (the words that show it,
    in deciding passages) and the requirement that demands it (None: a best practice nobody asked for)."""

    check: Check
    status: CheckStatus
    decided_by: Literal["rule", "detector", "model", "absence", "requirements", "stack"]
    evidence: tuple[Hit, ...] = ()
    requirement: Requirement | None = None


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
    facts: CodeFacts
    ask: Ask | None = None
    coverage: list[Coverage] = field(default_factory=list)
    checks: list[CheckResult] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    injection_flags: list[InjectionFlag] = field(default_factory=list)

    @classmethod
    def of(cls, requirements: Document, design: Document, ask: Ask | None = None) -> Grounding:
        """Parse both documents and index the design's passages."""
        found = passages(design.text)
        facts = read_code(design.text)
        own = list(requirements.requirements) if requirements.requirements is not None else None
        read = own if own is not None else parse_requirements(requirements.text)
        return cls(requirements, design, read, found, Retriever(found), facts, ask)

    @cached_property
    def linker(self) -> Linker:
        """Links the requirements to the design's sections (:mod:`evaluator.grounding.tracing`), built on first use."""
        return design_linker(self.requirements, self.passages, fallback=self.nearest)

    def nearest(self, requirement: Requirement, k: int) -> list[Passage]:
        """The review's own BM25 ranking (content stems and key terms), for passages beyond the linked sections."""
        stems = dict.fromkeys([*requirement.stems, *(s for t in requirement.terms for s in content_stems(t))])
        return [p for p, _ in self.retriever.search(list(stems), max(k, _NEAREST))]

    @property
    def subject(self) -> Subject:
        """What the deterministic rules read."""
        return Subject(self.passages, self.facts, self.requirements_doc.text)

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


def shown(hits: Sequence[Hit]) -> dict[str, Any]:
    """Finding fields for evidence that shows: the first hit's passage on one line (cut to
    300 characters around the matched words), its heading and line span, the matched words'
    offsets in that quote, and every hit's passage id."""
    first = hits[0]
    text, start, end = first.passage.plain, first.start, first.end
    if len(text) > _EVIDENCE_CHARS:
        lo = max(0, min(start - (_EVIDENCE_CHARS - (end - start)) // 2, len(text) - _EVIDENCE_CHARS))
        lo = text.rfind(" ", 0, lo) + 1 if lo else 0  # whole words
        hi = min(len(text), max(lo + _EVIDENCE_CHARS, end))
        hi = text.find(" ", hi) if text.find(" ", hi) != -1 and hi < len(text) else len(text)
        text, start, end = text[lo:hi], start - lo, end - lo
    marked = end > start
    return {
        "section": first.passage.heading,
        "evidence": text,
        "evidence_found": True,
        "evidence_kind": "shows",
        "match_start": start if marked else None,
        "match_end": end if marked else None,
        "line_start": first.passage.line_start,
        "line_end": first.passage.line_end,
        "passage_ids": list(dict.fromkeys(h.passage.id for h in hits)),
    }


def absence(searched_for: Sequence[str], expected_in: str) -> dict[str, Any]:
    """Finding fields for something the design lacks: no quote, what was searched for and where it belongs."""
    return {"evidence_kind": "absent", "searched_for": list(searched_for), "expected_in": expected_in,
            "section": expected_in}  # fmt: skip


def resting_on(requirement: Requirement | None) -> dict[str, Any]:
    """Finding fields naming the requirement a finding rests on: its id, text and line."""
    if requirement is None:
        return {}
    return {"requirement_id": requirement.id, "requirement_text": requirement.text,
            "requirement_line": requirement.line}  # fmt: skip
