"""Checks as profile data: does the design do what a focus area demands, or decide against it?

A check (:class:`evaluator.grounding.profiles.Check`) is evaluated in this order:

1. **Does it apply?** Every technology of its ``stack`` (Kafka, PostgreSQL, an HTTP API, …) must be in use: a
   deciding passage names the technology as a whole word, or its code shows it — the stem
   ``consum`` in "packages to consume them" is not Kafka. ``applies_when.requirements``, when
   given, must match a requirement statement (not the raw document: an out-of-scope row or a
   waiver is no statement), and ``applies_when.design`` a deciding passage.
2. **Who demands it?** The requirement statement that matches ``demanded_by`` (else
   ``applies_when.requirements``) best. With none, the check is a best practice nobody asked
   for: a failure is at most a suggestion and an absence is not reported; with only a
   "should" or a document's goal, at most a recommendation; and the design's silence on a
   requirement that does not say "shall"/"must" (a bare bullet, a table row) is at most a
   recommendation too — a gap to fill, not a decision against it; silence on a requirement that
   shares no word with the check (only its trigger words) is at most a suggestion. The finding
   names and quotes that requirement.
3. **Failed**: a deciding passage (:mod:`evaluator.documents.roles`: not background, not a
   rejected alternative, not a risk, not a table's header row) matches ``contradicts`` in earnest
   — not negated, not in a clause that rejects or avoids it, not inside a condition, not across a
   clause or cell boundary ("stored beside the ciphertext; plaintext keys …"), not in a row whose
   next cell forbids it — or the check's ``detector`` finds a hit; or a deciding passage names
   what would address the check only to deny it ("we are not setting up metrics", "| Audit trail
   | none |"). The evidence quotes the passage and marks the matched words.
4. **Passed**: a passage that decides or mitigates matches ``addresses`` in earnest (not weighed,
   deferred or asked: "would", "will be defined later", "open question"), or an
   ``addressed_by`` rule finds what prevents the defect (a dedup table's unique key, indexes).
   A passage that matches both ``addresses`` and ``contradicts`` decides neither way: a reviewer
   reads such a sentence whole ("retries five times, then parks it in the .dlq and moves on"),
   the rules cannot, and a finding they are unsure of is not worth its cost in trust.
5. **Asked**: when a model takes part, it answers the check's question over the deciding
   passages nearest to it (yes / no / unclear, citing the passages it rests on).
6. **Absent**: nothing says. The finding quotes nothing: it says what was searched for
   (``look_for``) and the design section where it would belong, if the design has one.

Patterns are regular expressions matched case-insensitively at word starts (``lag`` does not
match "flag") against one passage at a time, on its plain one-line text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from functools import cache

from evaluator.documents.passages import Hit, Passage
from evaluator.documents.requirements import Requirement
from evaluator.documents.roles import ADDRESSING, DECIDING
from evaluator.documents.terms import DISTANCING, HYPOTHETICAL, NEGATION, content_stems, negated_before
from evaluator.grounding.base import CheckResult, Grounding, absence, resting_on, shown
from evaluator.grounding.detectors import DETECTORS
from evaluator.grounding.profiles import Check, CheckSeverity, Technology
from evaluator.review.record import SEVERITIES, Finding


class CheckAnalysis:
    """Runs a profile's checks over a case; adds a finding per failed or absent check."""

    source = "check"

    def __init__(self, checks: Sequence[Check], technologies: Sequence[Technology] = ()) -> None:
        self.checks = list(checks)
        self.technologies = list(technologies)

    def run(self, g: Grounding) -> None:
        """Evaluate every check; record its result in ``g.checks`` and its finding in ``g.findings``."""
        used = technologies_used(self.technologies, g.passages)
        answers = mitigation_cells(g.passages)  # once per case, not once per check
        for check in self.checks:
            result = evaluate(check, g, used, answers)
            g.checks.append(result)
            finding = finding_of(result, g)
            if finding is not None:
                g.findings.append(finding)


def technologies_used(technologies: Sequence[Technology], passages: Sequence[Passage]) -> set[str]:
    """The ids of the technologies the design uses (see :class:`Technology`): its code shows it, or a
    deciding passage names it beside one of its context words, or two deciding passages name it."""
    deciding = [p for p in passages if p.role in DECIDING]
    used = set()
    for t in technologies:
        named = [_uses(t, p) for p in deciding]
        if "in use" in named or named.count("named") >= 2:
            used.add(t.id)
    return used


def _uses(t: Technology, passage: Passage) -> str:
    """``in use`` (code, or a name with a context word), ``named`` (a bare name) or "" for one passage."""
    if passage.kind == "code" and any(_search(c, passage.text) for c in t.code):
        return "in use"
    text, found = passage.plain, ""
    for name in t.names:
        for match in _compiled(name).finditer(text):
            if _an_example(text, match.start()):
                continue  # "used in projects (CockroachDB, TiKV, Kafka Streams)": an example, not a component
            if not t.context or any(_search(c, text) for c in t.context):
                return "in use"
            found = "named"
    return found


_EXAMPLES = re.compile(
    r"\b(?:e\.g|i\.e|such as|like|for example|for instance|used (?:in|by)|as in|projects?|companies)\b", re.I
)


def _an_example(text: str, at: int) -> bool:
    """Whether the word at ``at`` is an example in parentheses ("used in projects (CockroachDB, Kafka Streams)")."""
    opened = text.rfind("(", 0, at)
    if opened == -1 or text.count(")", opened, at):
        return False
    return bool(_EXAMPLES.search(text[max(0, opened - 40) : at]))


def evaluate(
    check: Check, g: Grounding, used: set[str] | None = None, answers: dict[str, list[tuple[int, int]]] | None = None
) -> CheckResult:
    """The result of one check on one case; see the module docstring. ``used``: the technologies the
    design uses (None: not known); ``answers``: :func:`mitigation_cells` of its passages (computed when None)."""
    if check.stack and used is not None and not set(check.stack) <= used:
        return CheckResult(check, "not_applicable", "stack")
    requirement = demanding(check, g.requirements)
    if not _applies(check, g):
        return CheckResult(check, "not_applicable", "requirements")
    subject = replace(g.subject, focus=requirement.text if requirement is not None else "")
    scoped = [p for p in g.passages if p.kind != "heading" and not p.head and _in_scope(check, p, g)]
    deciding = [p for p in scoped if p.role in DECIDING]
    answers = mitigation_cells(g.passages) if answers is None else answers
    addressed = {
        p.id: h
        for p in scoped
        if p.role in ADDRESSING
        for h in [_earnest_hit(check.addresses, p, within=answers.get(p.id))]
        if h
    }
    contradicted = {
        p.id: h
        for p in deciding
        if not _earnest_hit(check.unless, p)
        for h in [_earnest_hit(check.contradicts, p, contradiction=True)]
        if h
    }
    # A passage that says both ("retries five times, then publishes to the .dlq and moves on") is
    # read whole by a reviewer; the rules cannot, so it decides neither way.
    both = addressed.keys() & contradicted.keys()
    failing = [h for i, h in contradicted.items() if i not in both]
    if check.detector:
        seen = {h.passage.id for h in failing}
        failing += [h for h in DETECTORS[check.detector](subject) if h.passage.id not in seen]
    if failing:
        return CheckResult(check, "failed", "detector" if check.detector else "rule", tuple(failing[:3]), requirement)
    addressing = [h for i, h in addressed.items() if i not in both]
    for rule in check.addressed_by:
        addressing += DETECTORS[rule](subject)
    if addressing:
        return CheckResult(check, "passed", "rule", tuple(addressing[:2]), requirement)
    denied = [h for p in deciding if p.id not in both for h in [_denial(check.addresses, p)] if h]
    if denied:  # "we are not setting up metrics", with no passage that does
        return CheckResult(check, "failed", "rule", tuple(denied[:2]), requirement)
    if g.ask is not None and check.question:
        nearest = [p for p, _ in g.retriever.search(content_stems(check.question + " " + check.title), 8)]
        nearest = [p for p in nearest if p.role in DECIDING][:3]
        if nearest:
            answer, cited = g.ask(check.question, nearest)
            chosen = tuple(Hit(p) for p in nearest if p.id in cited) or (Hit(nearest[0]),)
            if answer in ("yes", "no"):
                return CheckResult(check, "passed" if answer == "yes" else "failed", "model", chosen, requirement)
    return CheckResult(check, "absent", "absence", (), requirement)


def demanding(check: Check, requirements: Sequence[Requirement]) -> Requirement | None:
    """The requirement statement that demands what the check looks for, among those its demand
    patterns match: a binding one before a "should" or a goal, then the one that shares most with
    the check — each matching pattern counts 1, each content stem shared with the check's own
    words (title, question, what passes, what is missing, what is looked for) ½ — the first on a
    tie; None when no pattern matches."""
    words = _vocabulary(check)
    best, score = None, (0, 0.0)
    for r in requirements:
        hits = sum(1 for p in check.demands if _search(p, r.text))
        rank = (int(r.mandatory and r.kind != "goal"), hits + 0.5 * len(words & set(r.stems)))
        if hits and rank > score:
            best, score = r, rank
    return best


@cache
def _vocabulary_of(text: str) -> frozenset[str]:
    return frozenset(content_stems(text))


def _vocabulary(check: Check) -> frozenset[str]:
    return _vocabulary_of(" ".join([check.title, check.question, check.passed, check.missing, *check.look_for]))


def _applies(check: Check, g: Grounding) -> bool:
    when = check.applies_when
    if when.requirements and not any(_search(p, r.text) for r in g.requirements for p in when.requirements):
        return False
    deciding = [p for p in g.passages if p.role in DECIDING]
    return not when.design or any(_search(p, d.plain) for d in deciding for p in when.design)


def _in_scope(check: Check, passage: Passage, g: Grounding) -> bool:
    text = passage.plain + "\n" + passage.section
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
    r"\b(?:not|no|never|without|won't|don't|doesn't|isn't|aren't|(?:decided|decide|opted|chose) against|n/a|"
    r"skip(?:s|ped)?|omit(?:s|ted)?)\b",
    re.IGNORECASE,
)


def _clause_before(text: str, start: int, chars: int = 60) -> str:
    """Up to ``chars`` characters before ``start``, within the same clause."""
    before = text[max(0, start - chars) : start]
    return before[max(before.rfind(sep) for sep in (". ", "; ", "| ")) + 1 :]


def _denial(patterns: list[str], passage: Passage) -> Hit | None:
    """Where the passage names what would address the check only to deny it, before ("we decided
    against a dead-letter topic") or after it ("a circuit breaker isn't needed"): the words."""
    if passage.kind == "code":
        return None  # NOT NULL, `is not None`: code's negations deny nothing
    text, exact = passage.reading, passage.reading == passage.plain
    for pattern in patterns:
        for match in _compiled(pattern).finditer(text):
            clause = _clause_before(text, match.start())
            words = list(re.finditer(r"\S+", clause))[-5:]
            start = match.start() - len(clause) + (words[0].start() if words else len(clause))
            before = text[start : match.start()]
            denial = _STRONG_DENIAL.search(before)
            if denial and not DISTANCING.search(before):
                return Hit(passage, start + denial.start(), match.end()) if exact else Hit(passage)
            after = _DENIED_AFTER.match(text, match.end())
            if after:
                return Hit(passage, match.start(), after.end()) if exact else Hit(passage)
    return None


# The column of a risk table that says what is done about a risk (its other cells name the risk and its impact).
_ANSWER_COLUMN = re.compile(
    r"\b(?:mitigat\w*|response|actions?|countermeasures?|handling|handled|controls?|treatment|remedy|plan|how)\b",
    re.IGNORECASE,
)


def mitigation_cells(passages: Sequence[Passage]) -> dict[str, list[tuple[int, int]]]:
    """For each row of a table in a risks section: the character spans (in its ``plain`` text) of the cells
    that can address a check — those under a mitigation / response / action column, else every cell but
    the first (no header that fits the row, or none naming such a column). "| Reconnect storms | lag,
    late alerts | KEDA scales out |" names lag as an impact; it does not monitor it."""
    spans: dict[str, list[tuple[int, int]]] = {}
    header: list[str] = []
    for p in passages:
        if p.kind != "row":
            header = []
            continue
        cells = _cell_spans(p.plain)
        if p.head:
            header = [p.plain[a:b] for a, b in cells]
            continue
        if p.role != "risks" or len(cells) < 2:
            continue
        named = header if len(header) == len(cells) else []
        wanted = [i for i, name in enumerate(named) if _ANSWER_COLUMN.search(name)]
        spans[p.id] = [cells[i] for i in wanted] if wanted else cells[1:]
    return spans


def _cell_spans(row: str) -> list[tuple[int, int]]:
    """Character spans of the cells of a row's plain text ("a | b | c")."""
    spans, start = [], 0
    while True:
        end = row.find(" | ", start)
        spans.append((start, len(row) if end == -1 else end))
        if end == -1:
            return spans
        start = end + 3


def _earnest_hit(
    patterns: list[str], passage: Passage, *, contradiction: bool = False, within: list[tuple[int, int]] | None = None
) -> Hit | None:
    """The first match of a pattern that says what it says (see the module docstring). A
    contradiction must also not sit inside a condition: "if the request is unauthenticated,
    answer 401" handles the case, it does not decide to allow it; an address must not be
    hypothetical or put off: "a .v2 topic, dual-published, would keep the old names alive" weighs it,
    "masking rules will be defined later" defers it."""
    # a pattern's space matches a line break of hard-wrapped prose, and a PDF row cut into a cell per
    # word reads as its sentence (the hit is then the whole row)
    text, exact = passage.reading, passage.reading == passage.plain
    for pattern in patterns:
        for match in _compiled(pattern).finditer(text):
            if within is not None and exact and not any(a <= match.start() < b for a, b in within):
                continue  # a risk table's risk or impact cell: only what is done about it addresses
            clause = _clause_before(text, match.start())
            if DISTANCING.search(clause) and (contradiction or not _BY_MEANS_OF.search(clause)):
                continue  # "we rejected retrying forever", "we considered a unique index"
            sentence_end = text.find(". ", match.end())
            rest = text[match.start() : sentence_end if sentence_end != -1 else match.end() + 120]
            if not contradiction and HYPOTHETICAL.search(clause + rest[:160]):
                continue
            runs_on = "; " in match.group(0) or (" | " in match.group(0) and "\\|" not in pattern)
            if contradiction and (_in_condition(text, match) or runs_on):
                continue  # a condition, or a gap of the pattern that runs into the next clause or cell
            if contradiction and _REJECTED_AFTER.match(text, match.end()):
                continue  # "publishing after the commit was considered and rejected"
            if contradiction and passage.kind == "row" and _DENIED_CELL.match(text, match.end()):
                continue  # "| Rename or remove a field | no | new topic |": the row forbids it
            if not contradiction and _DENIED_AFTER.match(text, match.end()):
                continue  # "a circuit breaker isn't needed"
            if _earnest(text, match, pattern):
                return Hit(passage, match.start(), match.end()) if exact else Hit(passage)
    return None


# What follows a named mechanism and takes it back: "a circuit breaker isn't needed", "an outbox … but we rejected it".
_DENIED_AFTER = re.compile(
    r"[^.;]{0,40}?\b(?:(?:is|are)(?:n't| not) (?:needed|required|necessary|used|planned|implemented|worth)|"
    r"(?:is|are) (?:unnecessary|overkill|not worth it)|but (?:we )?rejected (?:it|them)|(?:was|were) rejected|"
    r"out of the (?:schema|database|design)|(?:is|are) (?:left to|out of scope)|"
    r"(?:but )?(?:is|are) not (?:enforced|applied|checked|implemented|configured|collected|alerted))\b"
    r"|[^.;]{0,80}?\bbut (?:there is )?no (?:\w+ ){1,2}(?:is |are )?(?:configured|set up|defined|planned|in place)\b"
    # a table row whose next cell says there is none: "| Audit trail | none in v1 |", "| consumer lag | not alerted |"
    r"|[^|\n]{0,40}\|\s*(?:none|no|n/a|nothing|not \w+|out of scope)(?=[\s|(,;]|$)",
    re.IGNORECASE,
)
# What follows a named option and rejects it: "publishing after the commit was considered and rejected".
# Only an option's rejection: "a message that keeps failing is discarded" is the defect itself.
_REJECTED_AFTER = re.compile(
    r"[^.;]{0,80}?\b(?:(?:was|were|has been|have been) (?:considered|evaluated|discussed) and "
    r"(?:rejected|dropped|discarded|ruled out)|(?:was|were|has been|have been) ruled out|"
    r"(?:was|were) rejected (?:as|because|in favou?r)|but (?:we )?rejected (?:it|them))\b",
    re.IGNORECASE,
)
_DENIED_CELL = re.compile(r"[^|]{0,40}\|\s*(?:no|never|not allowed|forbidden|prohibited)\b", re.IGNORECASE)
# A mechanism named as the means of prevention: "the database rejects overlaps through an exclusion constraint".
_BY_MEANS_OF = re.compile(
    r"\b(?:rejects|prevents|guards against|protects against|mitigates)\b[^,;]{0,60}\b(?:through|via|with|by|using)\b",
    re.IGNORECASE,
)
_CONDITION = re.compile(r"\b(?:if|when|whenever|unless|in case|should)\b", re.IGNORECASE)


def _in_condition(text: str, match: re.Match[str]) -> bool:
    """Whether the match lies wholly inside the antecedent of a condition ("if …, then …")."""
    start = max(text.rfind(sep, 0, match.start()) for sep in (". ", "; ", ": ")) + 1
    cues = list(_CONDITION.finditer(text, start, match.start()))
    if not cues:
        return False
    rest = text[cues[-1].end() :]
    ends = [i for i in (rest.find(", "), rest.find(" then "), rest.find(" → "), rest.find(" -> ")) if i != -1]
    return bool(ends) and match.end() <= cues[-1].end() + min(ends)


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
    """A check pattern, case-insensitive, anchored at a word start when it begins with a word."""
    flags = pattern.startswith("(?") and not pattern.startswith(("(?:", "(?<", "(?=", "(?!"))
    starts_word = (
        pattern[:1].isalnum() or pattern.startswith(("(?:", "[")) or (pattern[:1] == "(" and pattern[1:2] != "?")
    )
    guard = "(?<![A-Za-z0-9])" if starts_word and not flags else ""
    return re.compile(guard + pattern, re.IGNORECASE)


def _search(pattern: str, text: str) -> bool:
    return bool(_compiled(pattern).search(text))


def _cap(severity: CheckSeverity, most: CheckSeverity) -> CheckSeverity:
    return severity if SEVERITIES.index(severity) >= SEVERITIES.index(most) else most


def finding_of(result: CheckResult, g: Grounding) -> Finding | None:
    """The finding a check result raises, if any (see the module docstring for the severity rules)."""
    check, requirement = result.check, result.requirement
    if result.status == "failed":
        severity, title = check.severity, check.title
        detail = " ".join(part for part in (check.problem, check.advice) if part)
        evidence = shown(result.evidence)
    elif result.status == "absent" and check.absent != "none" and requirement is not None:
        severity = check.absent
        what = check.missing or check.question.rstrip("?")
        # an absence shows no defect, only a silence: the title says so, not what a failure would be
        title = f"The design does not describe {what}" if check.missing else check.title
        detail = f"The design does not describe {what}. {check.advice}".strip()
        evidence = absence(check.look_for, expected_in(check, g))
    else:
        return None
    if requirement is None:
        severity = _cap(severity, "suggestion")  # a best practice nobody asked for
    elif not requirement.mandatory or requirement.kind == "goal":
        severity = _cap(severity, "recommendation")  # a "should", or a goal stated in prose
    elif result.status == "absent" and not requirement.explicit:
        severity = _cap(severity, "recommendation")  # silence on a bare bullet: a gap to fill
    if result.status == "absent" and requirement is not None and not _vocabulary(check) & set(requirement.stems):
        # the requirement only brushes the check's trigger words ("handle 10 requests simultaneously"
        # is no demand for optimistic locking): silence on it is worth a note, not a blocking finding
        severity = _cap(severity, "suggestion")
    return Finding(
        severity=severity,
        title=title,
        detail=detail,
        source="model" if result.decided_by == "model" else "check",
        check_id=check.id,
        **resting_on(requirement),
        **evidence,
    )


def expected_in(check: Check, g: Grounding) -> str:
    """The deciding section of the design whose heading is about the check's topic ("" when none is)."""
    for p in g.passages:
        if p.kind != "heading" or p.role not in DECIDING or p.text == g.design.title:
            continue
        if any(_search(s, p.plain) for s in check.scope) or any(_search(re.escape(t), p.plain) for t in check.look_for):
            return p.text
    return ""
