"""Checks as profile data: does the design do what a focus area demands, or decide against it?

A check (see :class:`evaluator.grounding.profiles.Check`) applies when the requirements (and, if it
says so, the design) match its ``applies_when`` patterns. Then, over the design's passages
(only those matching ``scope``, when given):

1. a passage matching ``contradicts`` — not negated, not in a sentence that rejects or
   avoids it — or a hit of the check's deterministic ``detector`` fails the check at its
   ``severity``;
2. else a passage matching ``addresses`` (not negated) passes it;
3. else, when a model takes part and the check has a ``question``, the model answers it over
   the best passages with yes / no / unclear and the ids of the passages it rests on;
4. else the check is *absent*: a finding at ``absent`` severity (none when "none"), with
   the passages nearest to the question as the place to look.

Every finding's evidence is a passage of the design, so it exists by construction.
"""

from __future__ import annotations

import re
from functools import cache

from evaluator.documents.passages import Passage
from evaluator.documents.terms import DISTANCING, NEGATION, content_stems, negated_before
from evaluator.grounding.base import CheckResult, Grounding, evidence_of
from evaluator.grounding.detectors import DETECTORS
from evaluator.grounding.profiles import Check
from evaluator.review.record import Finding

_ASIDE_SECTION = re.compile(r"alternative|rejected|considered|option|trade-?off|risk", re.IGNORECASE)


class CheckAnalysis:
    """Runs a profile's checks over a case; adds a finding per failed or absent check."""

    source = "check"

    def __init__(self, checks: list[Check]) -> None:
        self.checks = checks

    def run(self, g: Grounding) -> None:
        """Evaluate every check; record its result in ``g.checks`` and its finding in ``g.findings``."""
        for check in self.checks:
            result = evaluate(check, g)
            g.checks.append(result)
            finding = _finding(result, _concerned(check, g))
            if finding is not None:
                g.findings.append(finding)


def evaluate(check: Check, g: Grounding) -> CheckResult:
    """The result of one check on one case; see the module docstring."""
    if not _applies(check, g):
        return CheckResult(check, "not_applicable", "requirements")
    scoped = [p for p in g.passages if _in_scope(check, p, g)]
    contradicting = [
        p for p in scoped if _matches(check.contradicts, p, contradiction=True) and not _matches(check.unless, p)
    ]
    if check.detector:
        found = DETECTORS[check.detector](g.passages, g.requirements_doc.text, g.design.text)
        contradicting += [p for p in found if p not in contradicting]
    body = [p for p in scoped if p.kind != "heading"]
    addressing = [p for p in body if _matches(check.addresses, p)]
    if contradicting:
        return CheckResult(check, "failed", "rule" if not check.detector else "detector", tuple(contradicting[:3]))
    if addressing:
        return CheckResult(check, "passed", "rule", tuple(addressing[:2]))
    denied = [p for p in body if _denies(check.addresses, p)]
    if denied:  # "we are not setting up metrics", with no passage that does
        return CheckResult(check, "failed", "rule", tuple(denied[:2]))
    nearest = tuple(p for p, _ in g.retriever.search(content_stems(check.question + " " + check.title), 3))
    if g.ask is not None and check.question and nearest:
        answer, cited = g.ask(check.question, nearest)
        chosen = tuple(p for p in nearest if p.id in cited) or nearest[:1]
        if answer == "yes":
            return CheckResult(check, "passed", "model", chosen)
        if answer == "no":
            return CheckResult(check, "failed", "model", chosen)
    return CheckResult(check, "absent", "absence", nearest[:1] or tuple(g.passages[:1]))


def _applies(check: Check, g: Grounding) -> bool:
    when = check.applies_when
    if when.requirements and not any(_search(p, g.requirements_doc.text) for p in when.requirements):
        return False
    return not when.design or any(_search(p, g.design.text) for p in when.design)


def _in_scope(check: Check, passage: Passage, g: Grounding) -> bool:
    text = passage.text + "\n" + passage.section
    if check.scope and not any(_search(p, text) for p in check.scope):
        return False
    if check.scope_from_requirements:
        subject = _subject(check, g)
        return len(subject & set(content_stems(text))) >= min(2, len(subject))
    return True


def _subject(check: Check, g: Grounding) -> set[str]:
    """Distinctive stems of the requirements that made the check apply (what the rule is about)."""
    stems: set[str] = set()
    for r in g.requirements:
        if any(_search(p, r.text) for p in check.applies_when.requirements):
            stems |= {s for s in r.stems if len(s) > 3}
    return stems


_STRONG_DENIAL = re.compile(
    r"\b(?:not|no|never|without|won't|don't|doesn't|isn't|aren't|decided against|n/a)\b", re.IGNORECASE
)


def _clause_before(text: str, start: int, chars: int = 60) -> str:
    """Up to ``chars`` characters before ``start``, within the same clause."""
    before = text[max(0, start - chars) : start]
    return before[max(before.rfind(sep) for sep in (". ", "; ")) + 1 :]


def _plain(passage: Passage) -> str:
    """The passage on one line without code and emphasis marks: "kept as plain `text`" reads as prose."""
    return " ".join(passage.text.replace("`", "").replace("**", "").split())


def _denies(patterns: list[str], passage: Passage) -> bool:
    """Whether the passage names what would address the check only to deny it."""
    text = _plain(passage)
    for pattern in patterns:
        for match in _compiled(pattern).finditer(text):
            before = " ".join(_clause_before(text, match.start()).split()[-5:])
            if _STRONG_DENIAL.search(before) and not DISTANCING.search(before):
                return True
    return False


def _matches(patterns: list[str], passage: Passage, *, contradiction: bool = False) -> bool:
    """Whether a pattern matches the passage in earnest (see the module docstring)."""
    if contradiction and _ASIDE_SECTION.search(passage.heading):
        return False
    text = _plain(passage)  # a pattern's space matches a line break of hard-wrapped prose
    for pattern in patterns:
        for match in _compiled(pattern).finditer(text):
            if DISTANCING.search(_clause_before(text, match.start())):
                continue  # "we rejected retrying forever", "we considered a unique index"
            if _earnest(text, match, pattern):
                return True
    return False


def _earnest(text: str, match: re.Match[str], pattern: str) -> bool:
    """Whether a match says what it says.

    A negation the pattern itself spells ("no DLQ", "timeout=None") is meant; one before the
    match, or one that a wildcard of the pattern swallowed, denies it: "we never log request
    bodies", "payloads contain ids; they never contain names".
    """
    if any(cue.group(0).lower() not in pattern.lower() for cue in NEGATION.finditer(match.group(0))):
        return False
    own = NEGATION.match(match.group(0))
    return bool(own) or not negated_before(text, match.start())


@cache
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


def _search(pattern: str, text: str) -> bool:
    return bool(_compiled(pattern).search(text))


def _concerned(check: Check, g: Grounding) -> str | None:
    """The first requirement that made the check apply: the one a failure of the check breaks."""
    patterns = check.applies_when.requirements
    return next((r.id for r in g.requirements if any(_search(p, r.text) for p in patterns)), None)


def _finding(result: CheckResult, requirement_id: str | None) -> Finding | None:
    check = result.check
    if result.status == "failed":
        severity = check.severity
        how = "the model, asked over these passages," if result.decided_by == "model" else "the design"
        detail = f"{check.problem} Here {how} shows it. {check.advice}".strip()
    elif result.status == "absent" and check.absent != "none":
        severity = check.absent
        detail = f"The design does not say how: {check.question} {check.advice}".strip()
    else:
        return None
    return Finding(
        severity=severity,
        title=check.title,
        detail=detail,
        source="check" if result.decided_by != "model" else "model",
        requirement_id=requirement_id,
        check_id=check.id,
        **evidence_of(result.evidence),
    )
