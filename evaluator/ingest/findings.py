"""Findings and verdicts as other reviewers write them, for :mod:`evaluator.ingest.parse`.

Pure functions over one heading, line or table. Reviews by people and hosted assistants grade
findings on their own scales (Critical / High / Medium / Low, Warning, Blocker, Nit...) in
headings, table columns or a word before the finding; this module maps each word onto the
three severities of the format (must fix, should fix, could fix) and says when it did. A
verdict such as "Proceed with Implementation" or "Approve with changes" is the implementation
readiness, never a recommendation.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from markdown_it.tree import SyntaxTreeNode

from evaluator.ingest.lines import node_lines, plain_text
from evaluator.review.record import Finding, Readiness, Severity
from evaluator.text import one_line

# Severity words (normalised: lower case, words only) -> the format's severity. "high" depends on
# the review's scale (see :func:`scale`): below "critical" where the review has both, else the top.
_WORDS: dict[str, Severity | None] = {
    **dict.fromkeys(("critical", "blocker", "blockers", "blocking", "must fix", "severe", "showstopper"), "critical"),
    **dict.fromkeys(("high",), None),
    **dict.fromkeys(
        ("major", "warning", "warnings", "medium", "moderate", "should fix", "important", "significant"),
        "recommendation",
    ),
    **dict.fromkeys(
        ("minor", "low", "suggestion", "suggestions", "nit", "nits", "nitpick", "nitpicks", "info", "informational",
         "optional", "nice to have", "could fix", "trivial", "cosmetic"),
        "suggestion",
    ),
}  # fmt: skip
# The format's own headings: read without a note.
NATIVE = {"critical", "critical issues", "recommendation", "recommendations", "suggestion", "suggestions"}
_TRAILING = re.compile(r" (?:issues?|findings?|concerns?|problems?|items?|severity|priority|risks?)$")


def severity_word(norm: str) -> str | None:
    """The severity word a normalised heading or cell is ('High Priority Issues' -> 'high'), else None."""
    while True:
        if norm in _WORDS:
            return norm
        shorter = _TRAILING.sub("", norm)
        if shorter == norm or not shorter:
            return None
        norm = shorter


@dataclass
class Scale:
    """The severity words one review uses, and the notes on how they were read."""

    words: set[str] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)

    def severity(self, word: str, shown: str) -> Severity:
        """The format's severity for a word of :func:`severity_word`; notes a word the format does not use."""
        mapped = _WORDS[word]
        if mapped is None:  # 'high': the top of a High/Medium/Low scale, below Critical in a four-level one
            mapped = "recommendation" if self.words & {"critical", "blocker", "blockers", "blocking"} else "critical"
        if word not in NATIVE:
            note = f"findings: severity '{shown}' read as {mapped}"
            if note not in self.notes:
                self.notes.append(note)
        return mapped


# --- a word before the finding: "**High** — ...", "[Warning] ...", "🔴 Critical: ..." ----------

_LEAD = re.compile(
    r"^[^\w\[*_]*[*_]{0,2}\[?(?P<word>"
    + "|".join(sorted((re.escape(w) for w in _WORDS), key=len, reverse=True))
    + r")\]?(?:\s+(?:severity|priority))?[*_]{0,2}\s*(?:[:|)\]–—-]+\s*|\s(?=\*\*))(?P<rest>\S.*)$",
    re.I | re.S,
)


def lead_severity(line: str) -> tuple[str, str] | None:
    """``(word, rest)`` of a line that starts with a severity word: '**High** — No retry' -> ('high', 'No retry')."""
    match = _LEAD.match(line)
    return (match.group("word").lower(), match.group("rest").strip()) if match else None


# --- severity tables -------------------------------------------------------------------------

_COLUMNS = {
    "severity": ("severity", "priority", "level", "impact level", "criticality", "risk level", "rating"),
    "title": ("finding", "issue", "title", "problem", "observation", "concern", "gap", "summary", "item"),
    "detail": ("description", "details", "detail", "explanation", "rationale", "impact", "why"),
    "fix": ("recommendation", "recommended fix", "fix", "remediation", "action", "suggested fix", "mitigation",
            "proposed fix", "suggestion", "resolution"),
    "section": ("area", "section", "component", "category", "location", "where", "topic"),
    "evidence": ("evidence", "reference", "quote"),
    "requirement": ("requirement", "requirement id", "req", "req id"),
}  # fmt: skip


def table_columns(headers: list[str]) -> dict[str, int] | None:
    """Which column holds what, from normalised header cells; None unless there is a severity and a text column."""
    found: dict[str, int] = {}
    for i, header in enumerate(headers):
        for role, names in _COLUMNS.items():
            if header in names and role not in found:
                found[role] = i
                break
    if "severity" not in found or not ({"title", "detail", "fix"} & set(found)):
        return None
    return found


def table_finding(severity: Severity, cells: list[str], columns: dict[str, int]) -> Finding:
    """One row of a severity table as a finding: the issue cell gives the title, the others the detail."""

    def cell(role: str) -> str:
        return one_line(cells[columns[role]]) if role in columns and columns[role] < len(cells) else ""

    title, detail = cell("title"), cell("detail")
    if not title:
        title, detail = _first_sentence(detail), detail
    elif detail == "" and len(title) > 90:
        title, detail = _first_sentence(title), title
    fix = cell("fix")
    detail = " ".join(part for part in (detail, f"Recommendation: {fix}" if fix else "") if part)
    return Finding(
        severity=severity,
        title=title.rstrip(".") or "(untitled)",
        detail=detail,
        section=cell("section"),
        evidence=cell("evidence"),
        requirement_id=cell("requirement") or None,
    )


def _rows(table: SyntaxTreeNode, part: str) -> Iterator[list[str]]:
    """The cells of each row of a table's ``thead`` or ``tbody``, as written (text keeps its inline markdown)."""
    for section in table.children:
        if section.type == part:
            for row in section.children:
                yield [_cell(cell) for cell in row.children]


def _cell(cell: SyntaxTreeNode) -> str:
    return (cell.children[0].content if cell.children else plain_text(cell)).strip()


def table_findings(table: SyntaxTreeNode, scale: Scale, norm: Callable[[str], str]) -> list[Finding] | None:
    """The findings of a severity table (a severity column and an issue, description or fix column), one
    per row; None when ``table`` is not one. A row whose severity is not a known word is left out, with
    a note on ``scale``. ``norm`` normalises a header or severity cell for matching."""
    headers = [norm(cell) for row in _rows(table, "thead") for cell in row]
    columns = table_columns(headers)
    if columns is None:
        return None
    found = []
    for cells in _rows(table, "tbody"):
        shown = cells[columns["severity"]] if columns["severity"] < len(cells) else ""
        word = severity_word(norm(shown))
        if word is None:
            scale.notes.append(f"findings: a table row with severity '{shown}' was not understood and not stored")
            continue
        found.append(table_finding(scale.severity(word, shown), cells, columns))
    return found


def used_words(tree: SyntaxTreeNode, norm: Callable[[str], str]) -> set[str]:
    """The severity words of every severity table and every list item led by one in ``tree``."""
    words: set[str] = set()
    for node in tree.walk():
        if node.type == "table":
            words |= table_words(node, norm)
        elif node.type == "list_item" and (lines := node_lines(node.children)[:1]):
            words |= {lead[0]} if (lead := lead_severity(lines[0])) else set()
    return words


def table_words(table: SyntaxTreeNode, norm: Callable[[str], str]) -> set[str]:
    """The severity words a severity table uses (empty for any other table)."""
    columns = table_columns([norm(cell) for row in _rows(table, "thead") for cell in row])
    if columns is None:
        return set()
    cells = [row[columns["severity"]] for row in _rows(table, "tbody") if columns["severity"] < len(row)]
    return {word for word in (severity_word(norm(cell)) for cell in cells) if word}


def _first_sentence(text: str, limit: int = 90) -> str:
    match = re.match(r"(.+?[.!?])(?:\s|$)", text)
    sentence = (match.group(1) if match else text).rstrip(".")
    return sentence if len(sentence) <= limit else sentence[:limit].rsplit(" ", 1)[0]


# --- verdicts --------------------------------------------------------------------------------

_VERDICTS: list[tuple[Readiness, str]] = [
    ("Major Changes Required", r"do not proceed|don'?t proceed|not ready(?: for implementation)?|revise and resubmit|"
     r"rework(?: required)?|needs? rework|reject(?:ed)?|major (?:changes|revisions?)(?: required)?|blocked|no go"),
    ("Minor Changes", r"(?:approved?|accept(?:ed)?|proceed(?: with implementation)?|go|ready)\s+(?:with|after|once)\s+"
     r"(?:minor\s+)?(?:changes|conditions|comments|revisions|caveats|fixes|caution)|conditional(?:ly)? approv(?:al|ed)|"
     r"minor (?:changes|revisions)(?: required)?"),
    ("Ready", r"proceed(?: with implementation)?|approved?|accept(?:ed)?|ready(?: for implementation| to implement)?|"
     r"go|lgtm|ship it"),
]  # fmt: skip
_VERDICT_PREFIX = (
    r"(?:(?:final|overall)\s+)?(?:recommendation|verdict|decision|conclusion|outcome|status)\s*[:\s–—-]\s*"
)


def verdict(text: str, *, whole: bool = True) -> Readiness | None:
    """The readiness a verdict says: 'Proceed with Implementation' -> 'Ready', 'Final Recommendation: Approve
    with changes' -> 'Minor Changes'. ``whole``: the text is nothing but the verdict (a heading); else it
    starts with it as a clause of its own ('**Approve with changes** — address findings 1 and 2', not
    'Go through the checklist')."""
    plain = re.sub(r"[*_`]+|[^\w\s.!:;,()–—-]+", " ", text).lower()
    plain = re.sub(r"\s+", " ", plain).strip(" .")
    end = r"\W*$" if whole else r"\s*(?:$|[.!:;,(–—-])"
    for readiness, phrases in _VERDICTS:
        if re.match(rf"^(?:{_VERDICT_PREFIX})?(?:{phrases}){end}", plain):
            return readiness
    return None
