"""Requirement traceability: which design passages address each requirement.

For every requirement the passages that can address it — those of deciding sections and the
mitigations of risk sections (:mod:`evaluator.documents.roles`), never the design's own
restatement of its goals, its background or its rejected alternatives — are ranked by the
linker (:mod:`evaluator.grounding.tracing`: the passages of the sections the requirement links
to, then BM25 over stems); its *term coverage* is the share of its content stems (key terms such as
identifiers, endpoints and status codes count double) found in the best passages. Status:

* ``covered`` — term coverage ≥ 0.5;
* ``partial`` — ≥ 0.25;
* ``not_addressed`` — below;
* ``contradicted`` — a distinctive term of a positive requirement occurs in the best deciding
  passages only right after the authors' decision against it ("we decided not to use a
  dead-letter topic", "we will not validate tokens", "**No DLQ.**"), never affirmed. A
  description of behaviour ("the consumer does not commit before processing") is no decision.

A requirement the design names by its own id (a traceability matrix row "FR1.4 → M3") is at
least ``partial``: a claim to check, never a silence. A contradicted mandatory requirement is a
critical finding quoting the decision; a mandatory requirement not addressed is a recommendation
when it binds in so many words (:attr:`Requirement.explicit`), else a suggestion, and quotes
nothing: it says which of the requirement's terms the design never uses together.

The thresholds were set on the sound designs of the shipped datasets (every mandatory
requirement at least partial). Method after Hayes, Dekhtyar & Sundaram, "Advancing
candidate link generation for requirements tracing", IEEE TSE 32(1), 2006.
"""

from __future__ import annotations

import re

from evaluator.documents.passages import Hit, Passage
from evaluator.documents.requirements import Requirement
from evaluator.documents.roles import ADDRESSING, DECIDING
from evaluator.documents.terms import DISTANCING, STOP_WORDS, content_stems, negated_before, stem, tokens
from evaluator.grounding.base import Coverage, Grounding, absence, resting_on, shown
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
            finding = coverage_finding(coverage)
            if finding is not None:
                g.findings.append(finding)


def trace(requirement: Requirement, g: Grounding) -> Coverage:
    """The coverage of one requirement by the design."""
    weights = _weights(requirement)
    hits = [p for p in g.linker.passages_for(requirement, _TOP) if p.role in ADDRESSING]
    cited = _cited(requirement, g)  # a traceability row names it: a claim to check, not a silence
    if not hits or not weights:
        return (
            Coverage(requirement, "partial", 0.0, tuple(cited[:2]))
            if cited
            else Coverage(requirement, "not_addressed", 0.0, ())
        )
    found: set[str] = set().union(*(g.retriever.stems[int(p.id[1:]) - 1] for p in hits))
    score = sum(w for s, w in weights.items() if s in found) / sum(weights.values())
    contradiction = None if requirement.negative else _contradiction(requirement, hits)
    if contradiction is not None:
        return Coverage(requirement, "contradicted", round(score, 3), (contradiction.passage,), contradiction)
    status: CoverageStatus = "covered" if score >= COVERED else "partial" if score >= PARTIAL else "not_addressed"
    if cited and status == "not_addressed":
        return Coverage(requirement, "partial", round(score, 3), tuple(cited[:2]))
    return Coverage(requirement, status, round(score, 3), tuple(hits[:2]) if status != "not_addressed" else ())


def _cited(requirement: Requirement, g: Grounding) -> list[Passage]:
    """Passages that can address a requirement and name it by its own id ("FR1.4 → M3"), for ids
    that are not bare numbers (a "3.2" in a design is as likely its own section number)."""
    rid = requirement.id
    if not requirement.explicit_id or not re.search(r"[A-Za-z]", rid):
        return []
    pattern = re.compile(rf"(?<![\w.-]){re.escape(rid)}(?![\w-]|\.\d)")
    return [p for p in g.passages if p.role in ADDRESSING and p.kind != "heading" and pattern.search(p.text)]


def _weights(requirement: Requirement) -> dict[str, float]:
    weights = dict.fromkeys(requirement.stems, 1.0)
    for term in requirement.terms:
        for s in content_stems(term):
            weights[s] = 2.0
    return weights


# The authors' own decisions against something, not descriptions of behaviour.
_DECISION_AGAINST = re.compile(
    r"\b(?:decided|chose|choose|opted|agreed) (?:not to|against)\b|\bdecided against\b|"
    r"\bwe (?:will|shall|do|did|would) not\b|\bwe (?:won't|don't|didn't)\b|\bno need (?:for|to)\b|"
    r"\bnot (?:needed|required|necessary|planned|in scope)\b|\bout of scope\b|\bdeferred\b",
    re.IGNORECASE,
)
_LEADING_NO = re.compile(r"^\W*no\s+(?:\S+\s+){0,2}?$", re.IGNORECASE)


def _contradiction(requirement: Requirement, hits: list[Passage]) -> Hit | None:
    """A deciding passage that decides against a distinctive requirement term the others never affirm."""
    distinctive = {stem(t.lower()) for term in requirement.terms for t in tokens(term)} | {
        s for s in requirement.stems if len(s) >= 6
    }
    negated: dict[str, Hit] = {}
    affirmed: set[str] = set()
    for passage in hits:
        text = passage.plain
        if passage.role not in DECIDING or DISTANCING.search(text):
            continue
        for match in re.finditer(r"/?[A-Za-z0-9]+(?:[_./-][A-Za-z0-9]+)*", text):
            s = stem(match.group(0).lower())
            if s not in distinctive:
                continue
            clause = text[max(text.rfind(sep, 0, match.start()) for sep in (". ", "; ", ": ")) + 1 : match.start()]
            decision = _DECISION_AGAINST.search(clause[-60:]) or _LEADING_NO.match(text[: match.start()])
            if decision and negated_before(text, match.start()):
                start = match.start() - len(clause[-60:]) + decision.start() if not _LEADING_NO.match(
                    text[: match.start()]) else 0  # fmt: skip
                negated.setdefault(s, Hit(passage, max(0, start), match.end()))
            else:
                affirmed.add(s)
    return next((hit for s, hit in negated.items() if s not in affirmed), None)


def searched_terms(requirement: Requirement, most: int = 5) -> list[str]:
    """What a design meeting the requirement would name: its key terms, else its longest content words."""
    terms = list(requirement.terms[:most])
    if len(terms) < 2:
        words = [t for t in tokens(requirement.text) if t not in STOP_WORDS and len(t) > 3 and t.isalpha()]
        terms += sorted(dict.fromkeys(words), key=len, reverse=True)[: most - len(terms)]
    return terms


def coverage_finding(c: Coverage) -> Finding | None:
    """The finding for a contradicted or missing requirement (None for one that is met or optional)."""
    r = c.requirement
    short = clip(r.text, 160, cut=157)
    severity: Severity
    if c.status == "contradicted" and c.shows is not None:
        severity = "critical" if r.mandatory else "recommendation"
        title = f"The design decides against {r.id}"
        detail = f"{r.id} asks: “{short}”. The design decides otherwise: change it, or agree a change to {r.id}."
        evidence = shown([c.shows])
    elif c.status == "not_addressed" and r.mandatory:
        # silence on a requirement that binds in so many words is a gap to close; on a bare
        # bullet, a table row of standards or a use-case title, a question to ask
        severity = "recommendation" if r.explicit else "suggestion"
        title = f"{r.id} is not addressed by the design"
        detail = f"{r.id} asks: “{short}”. No deciding section of the design takes it up: add how the design meets it."
        evidence = absence(searched_terms(r), "")
    else:
        return None
    return Finding(severity=severity, title=title, detail=detail, source="coverage", **resting_on(r), **evidence)
