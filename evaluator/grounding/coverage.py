"""Requirement traceability: which design passages address each requirement.

For every requirement the passages are ranked by BM25 over stems; its *term coverage* is the
share of its content stems (key terms such as identifiers, endpoints and status codes count
double) found in the best passages. Status:

* ``covered`` — term coverage ≥ 0.5;
* ``partial`` — ≥ 0.25;
* ``not_addressed`` — below;
* ``contradicted`` — a distinctive term of a positive requirement occurs in the best passages
  only right after a negation or a decision against it ("we decided not to use a
  dead-letter topic"), never affirmed.

The thresholds were set on the sound designs of the shipped datasets (every mandatory
requirement at least partial). Method after Hayes, Dekhtyar & Sundaram, "Advancing
candidate link generation for requirements tracing", IEEE TSE 32(1), 2006.
"""

from __future__ import annotations

import re

from evaluator.documents.passages import Passage
from evaluator.documents.requirements import Requirement
from evaluator.documents.terms import DISTANCING, content_stems, negated_before, stem, tokens
from evaluator.grounding.base import Coverage, Grounding, evidence_of
from evaluator.review.record import CoverageStatus, Finding, Severity
from evaluator.text import clip

COVERED, PARTIAL = 0.5, 0.25
_TOP = 5


class CoverageAnalysis:
    """Traces every requirement to design passages; adds findings for gaps and contradictions."""

    source = "coverage"

    def run(self, g: Grounding) -> None:
        """Fill ``g.coverage`` and add a finding per contradicted or missing mandatory requirement."""
        for requirement in g.requirements:
            coverage = trace(requirement, g)
            g.coverage.append(coverage)
            finding = _finding(coverage)
            if finding is not None:
                g.findings.append(finding)


def trace(requirement: Requirement, g: Grounding) -> Coverage:
    """The coverage of one requirement by the design."""
    weights = _weights(requirement)
    hits = [p for p, _ in g.retriever.search(list(weights), _TOP)]
    if not hits or not weights:  # nothing in the design shares a word with it: cite the design's start
        return Coverage(requirement, "not_addressed", 0.0, tuple(hits[:1] or g.passages[:1]))
    found: set[str] = set().union(*(g.retriever.stems[_index(g, p)] for p in hits))
    score = sum(w for s, w in weights.items() if s in found) / sum(weights.values())
    contradiction = None if requirement.negative else _contradiction(requirement, hits)
    if contradiction is not None:
        return Coverage(requirement, "contradicted", round(score, 3), (contradiction,))
    status: CoverageStatus = "covered" if score >= COVERED else "partial" if score >= PARTIAL else "not_addressed"
    return Coverage(requirement, status, round(score, 3), tuple(hits[:2]))


def _weights(requirement: Requirement) -> dict[str, float]:
    weights = dict.fromkeys(requirement.stems, 1.0)
    for term in requirement.terms:
        for s in content_stems(term):
            weights[s] = 2.0
    return weights


def _index(g: Grounding, passage: Passage) -> int:
    return int(passage.id[1:]) - 1


# Decisions against, not mere descriptions ("no database work in the request" is not one):
# explicit refusals, or a statement that opens with "No" ("**No dead-letter topic.**").
_DECISION_AGAINST = re.compile(
    r"\b(?:decided|chose|choose|opted|agreed) not to\b|\b(?:will|do|does|shall) not\b|\bwon't\b|\bdon't\b|"
    r"\bdoesn't\b|\bno need (?:for|to)\b|\bnot (?:needed|required|necessary|planned|supported|implemented)\b|"
    r"^\W*no\b",
    re.IGNORECASE,
)


def _contradiction(requirement: Requirement, hits: list[Passage]) -> Passage | None:
    """A best passage that negates a distinctive requirement term the others never affirm."""
    distinctive = {stem(t.lower()) for term in requirement.terms for t in tokens(term)} | {
        s for s in requirement.stems if len(s) >= 6
    }
    negated: dict[str, Passage] = {}
    affirmed: set[str] = set()
    for passage in hits:
        if passage.kind == "heading" or DISTANCING.search(passage.text):
            continue
        for match in re.finditer(r"/?[A-Za-z0-9]+(?:[_./-][A-Za-z0-9]+)*", passage.text):
            s = stem(match.group(0).lower())
            if s not in distinctive:
                continue
            before = passage.text[max(0, match.start() - 60) : match.start()]
            if match.start() < 60:
                before = passage.text[: match.start()]  # "^No" must mean the passage's own start
            if negated_before(passage.text, match.start()) and _DECISION_AGAINST.search(before):
                negated.setdefault(s, passage)
            else:
                affirmed.add(s)
    for s, passage in negated.items():
        if s not in affirmed:
            return passage
    return None


def _finding(c: Coverage) -> Finding | None:
    r = c.requirement
    short = clip(r.text, 160, cut=157)
    severity: Severity
    if c.status == "contradicted":
        severity = "critical" if r.mandatory else "recommendation"
        title = f"{r.id} is contradicted by the design"
        detail = f"The design decides against {r.id} (“{short}”). Change the design or agree a change to {r.id}."
    elif c.status == "not_addressed" and r.mandatory:
        severity, title = "recommendation", f"{r.id} is not addressed"
        detail = f"No passage of the design addresses {r.id} (“{short}”). Add how the design meets it."
    else:
        return None
    return Finding(
        severity=severity,
        title=title,
        detail=detail,
        source="coverage",
        requirement_id=r.id,
        **evidence_of(c.evidence),
    )
