"""What the analyses share: the documents as data, and the one interface every analysis has."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from evaluator.documents.read import Document
from evaluator.documents.passages import Passage, passages
from evaluator.documents.requirements import Requirement, parse_requirements

if TYPE_CHECKING:
    from evaluator.analyses.checks import CheckResult
    from evaluator.analyses.coverage import Coverage
    from evaluator.analyses.retrieval import Retriever
    from evaluator.injection import InjectionFlag
    from evaluator.review import Finding

_EVIDENCE_CHARS = 300

# (question, passages) -> ("yes" | "no" | "unclear", ids of the passages the answer rests on)
Ask = Callable[[str, Sequence[Passage]], tuple[str, list[str]]]


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
        from evaluator.analyses.retrieval import Retriever

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
    text = " ".join(first.text.split())
    if len(text) > _EVIDENCE_CHARS:
        text = text[:_EVIDENCE_CHARS].rsplit(" ", 1)[0]
    return {
        "section": first.heading,
        "evidence": text,
        "evidence_found": True,
        "line_start": first.line_start,
        "line_end": first.line_end,
        "passage_ids": [p.id for p in found],
    }
