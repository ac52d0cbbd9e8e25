"""Lines for :mod:`evaluator.ingest.parse`, and what one line says.

Pure functions: the lines of markdown-it nodes, and readers of one line — a summary label and its
values, a finding's parts, a "nothing here" sentinel, a checklist mark, a heading's numbering.
They decide what a line *is*, never what a document contains: :mod:`evaluator.ingest.parse` reads the
structure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from markdown_it.tree import SyntaxTreeNode

from evaluator.review.record import ASSESSMENTS, READINESS, Finding, Severity
from evaluator.text import clip, one_line

# --- lines of markdown-it nodes -----------------------------------------------------------


def plain_text(node: SyntaxTreeNode) -> str:
    """The text of a node without inline markup."""
    if node.type in ("text", "code_inline"):
        return node.content
    if node.type in ("softbreak", "hardbreak"):
        return "\n"
    if node.type == "html_inline":
        return ""
    return "".join(plain_text(child) for child in node.children)


def node_lines(nodes: list[SyntaxTreeNode], plain: bool = False) -> list[str]:
    """Raw lines of every paragraph, depth first, code and HTML left out.

    ``plain``: lines without markup, and table rows as their cells joined by ': '.
    """
    lines: list[str] = []
    for node in nodes:
        if node.type == "paragraph":
            text = plain_text(node) if plain else node.children[0].content
            lines += [line.strip() for line in text.splitlines() if line.strip()]
        elif node.type == "tr" and plain:
            lines.append(": ".join(plain_text(cell).strip() for cell in node.children))
        elif node.type not in ("fence", "code_block", "html_block", "inline"):
            lines += node_lines(node.children, plain)
    return lines


def check_lines(nodes: list[SyntaxTreeNode]) -> list[tuple[str, bool]]:
    """Plain lines of paragraphs and list items, and table body rows (cells joined by ': ', flagged True)."""
    lines: list[tuple[str, bool]] = []
    for node in nodes:
        if node.type == "paragraph":
            lines += [(line.strip(), False) for line in plain_text(node).splitlines() if line.strip()]
        elif node.type == "tr":
            lines.append((": ".join(plain_text(cell).strip() for cell in node.children), True))
        elif node.type not in ("fence", "code_block", "html_block", "inline", "thead"):
            lines += check_lines(node.children)
    return lines


# --- "nothing here" ------------------------------------------------------------------------

_ADJECTIVE = (
    r"critical|major|minor|blocking|significant|serious|severe|high|medium|low|priority|outstanding|open|"
    r"further|additional|other|new|known|notable|obvious|immediate|remaining|particular|specific|real|urgent|"
    r"important|architectural|technical|design|security|must[\s-]fix|should[\s-]fix|could[\s-]fix|show[\s-]?stopper"
)
_NOUN = (
    r"issues?|findings?|problems?|concerns?|recommendations?|suggestions?|blockers?|gaps?|items?|risks?|"
    r"defects?|changes?|elements?|points?|comments?|observations?|alternatives?|steps?|strengths?|actions?"
)
_VERB = (
    r"identified|found|noted|observed|raised|reported|needed|required|detected|spotted|to\s+report|to\s+note|"
    r"at\s+this\s+(?:time|stage|point)|so\s+far|for\s+now"
)
_ADJECTIVES = rf"(?:[\s-]+(?:{_ADJECTIVE})\b)*"
_SENTINEL = re.compile(
    r"^(?:there\s+(?:are|were|is)\s+|we\s+found\s+)?"
    rf"(?:(?:none|nil|nothing|n/?a|not\s+applicable)\b{_ADJECTIVES}"
    rf"|no{_ADJECTIVES}\s+(?:{_NOUN})\b(?:\s+(?:were|was|have\s+been|has\s+been|are|is)\b)?)"
    rf"(?:\s+(?P<verb>{_VERB})\b)?",
    re.I,
)
# After the sentinel words: the end, or a separator that starts an explanation...
_EXPLANATION = re.compile(r"^\s*(?:$|[.!:;,(–—-])")
# ...that takes nothing back in the same sentence: "None, except that the DLQ is missing" names an issue.
_CONTRAST = re.compile(
    r"\b(?:but|however|except|although|though|yet|apart\s+from|other\s+than|besides|aside\s+from)\b", re.I
)


def _bare(text: str) -> str:
    """Text without leading symbols and emphasis markers, e.g. '✅ **None.**' -> 'None.'."""
    return re.sub(r"^[^\w(]+", "", text.replace("**", "").replace("__", "")).strip("*_ \t")


def is_nothing(text: str) -> bool:
    """Whether a line says there is nothing here: 'None', '**NONE** – a sentence', 'N/A', 'No critical
    issues identified.', 'Nothing identified'... in any case. 'No DLQ' or 'None of the endpoints
    validate input' are not: they are findings."""
    bare = _bare(text)
    match = _SENTINEL.match(bare)
    if not match:
        return False
    rest = bare[match.end() :]
    same_sentence = re.split(r"(?<=[.!?;])\s", rest, maxsplit=1)[0]
    return (bool(match.group("verb")) or bool(_EXPLANATION.match(rest))) and not _CONTRAST.search(same_sentence)


# --- checklist marks -----------------------------------------------------------------------

_CHECKED = "✅✔☑✓🟢"
_UNCHECKED = "❌☐✗✘⬜🔲❎🔴⛔🚫⚠🟡🟠"
_MARK = f"[{_CHECKED}{_UNCHECKED}]"
_BOX = re.compile(rf"^\[\s*(?P<box>[xX~-]|{_MARK})?\s*\]\s*(?P<text>.*)$", re.S)
_LEADING = re.compile(rf"^(?P<mark>{_MARK})\s*(?P<text>.*)$", re.S)
_TRAILING = re.compile(rf"^(?P<text>.*?\w.*?)[\s:|–—-]*(?P<mark>{_MARK})(?P<note>.*)$", re.S)
_WORDS = {
    True: r"yes|done|complete[d]?|met|pass(?:ed)?|ok|ready|in\s+place|present|addressed|defined",
    False: r"no|not\s+met|not\s+done|missing|partial(?:ly)?|pending|todo|to\s+do|fail(?:ed)?|incomplete|"
    r"not\s+started|absent|unclear|in\s+progress",
}
_WORD = re.compile(
    rf"^(?P<text>.*?\w.*?)\s*:\s*(?:(?P<yes>{_WORDS[True]})|(?P<no>{_WORDS[False]}))\b(?P<note>.*)$", re.I
)


@dataclass(frozen=True)
class ChecklistLine:
    """A checklist line: its text without the mark, and whether it is checked."""

    text: str
    checked: bool


def _tidy(text: str, note: str = "") -> str:
    note = re.sub(r"^[\s:|–—-]+", "", note).strip()
    text = re.sub(r"[\s:|–—-]+$", "", text.strip())
    return f"{text} — {note}" if note and not note.startswith("(") else f"{text} {note}".strip()


def read_check(line: str, *, table_row: bool = False) -> ChecklistLine | None:
    """A checklist line read from plain text, or None when it carries no mark.

    Marks: ``[x]``/``[X]``/``[ ]`` boxes, ✅ ✔ ☑ ✓ (checked) and ❌ ☐ ✗ ✘ ⚠ (not checked) before
    or after the text; a table row (cells joined by ': ') or a line ending in ': Yes' may also say
    Yes/No/Done/Missing/Partial.
    """
    line = line.replace("\ufe0f", "").strip()
    box = _BOX.match(line)
    if box and box.group("text").strip():
        mark = box.group("box") or ""
        return ChecklistLine(box.group("text").strip(), mark in ("x", "X") or (mark != "" and mark in _CHECKED))
    for regex in (_LEADING, _TRAILING):
        match = regex.match(line)
        if match and re.search(r"\w", match.group("text")):
            note = match.groupdict().get("note") or ""
            return ChecklistLine(_tidy(match.group("text"), note), match.group("mark") in _CHECKED)
    word = _WORD.match(line)
    # In a table the status has its own cell; on a line it must stand alone: 'Data model: No', not 'Data: no PII'.
    if word and (table_row or re.match(r"^\s*(?:$|[.,;:(–—-])", word.group("note"))):
        return ChecklistLine(_tidy(word.group("text"), word.group("note")), word.group("yes") is not None)
    return None


# --- summary values and findings ---------------------------------------------------------

_FIELD_RES = {
    name: re.compile(rf"^\W*(?:{label})\b(?P<rest>.*)$", re.I | re.S)
    for name, label in {
        "overall_assessment": r"overall(?:\s+(?:assessment|rating|verdict))?",
        "completeness_score": r"completeness(?:\s+score)?",
        "technical_soundness_score": r"(?:technical\s+)?soundness(?:\s+score)?",
        "implementation_readiness": r"(?:implementation\s+)?readiness(?!\s+checklist)",
    }.items()
}

_SCORE = re.compile(r"(?<![\d.])(\d{1,2}(?:\.\d+)?)\s*(?:/|out\s+of)\s*10(?:\.0+)?(?![\d.])", re.I)

_BOLD = re.compile(r"^[^\w*]*(\*\*|__)(?P<title>.+?)\1(?P<rest>.*)$", re.S)

_META = re.compile(
    r"^[*_]{0,2}(?P<label>section|evidence|concerns|requirement|searched for)[*_]{0,2}"
    r"\s*:\s*[*_]{0,2}\s*(?P<value>.*)$",
    re.I | re.S,
)
# A grounded review's "Requirement: “text” (requirements, line 3)" and "Searched for: a, b (not found in the design)".
_REQUIREMENT = re.compile(
    r"^[\"“](?P<text>.*)[\"”]\s*(?:\(requirements,\s+line\s+(?P<line>\d+)(?:;[^)]*)?\))?\s*$", re.S
)
_SEARCHED = re.compile(r"^(?P<terms>.*?)\s*(?:\(not found in the design\))?\s*$", re.S)
_BOLD_MATCH = re.compile(r"\*\*(.+?)\*\*")

# "(found in the design)", "(not found in the design)", or a grounded review's "(design, lines 12–14)", for a
# converted design with its place in the source file: "(design, lines 12–14; tech-design.rst, lines 40–42)".
_EVIDENCE = re.compile(
    r"^(?P<quote>.*?)\s*(?P<where>\((?:(?P<neg>not\s+)?found\s+in\s+the\s+design|design,\s+lines?\s+"
    r"(?P<start>\d+)(?:\s*[–-]\s*(?P<end>\d+))?(?:;[^)]*)?)\))?\s*$",
    re.I | re.S,
)

_STRUCK = re.compile(r"~~(.+?)~~")

_ARROW = re.compile(r"\s*(?:→|->|=>|⟶)\s*|:\s+")  # '5/10 → 8/10'; table cells 'v1.0 | v1.1' read as '5/10: 8/10'


def first_sentence(text: str, limit: int = 90) -> str:
    text = one_line(text.replace("**", "").replace("__", "").replace("`", ""))
    match = re.match(r"(.+?[.!?])(?:\s|$)", text)
    sentence = (match.group(1) if match else text).rstrip(".")
    if len(sentence) <= limit:
        return sentence
    return clip(sentence, limit, mark="").rstrip(" ,;:")


def _choice(text: str, options: tuple[str, ...]) -> str | None:
    """The allowed value ``text`` starts with (case-insensitive, whole words), else None."""
    text = one_line(re.sub(r"^\W+", "", text)).lower()
    for option in sorted(options, key=len, reverse=True):
        if re.match(re.escape(option.lower()) + r"\b", text):
            return option
    return None


def _score(text: str) -> float | None:
    match = _SCORE.search(text)
    value = float(match.group(1)) if match else None
    return value if value is not None and 0 <= value <= 10 else None


def _value(name: str, text: str) -> Any:
    options = {"overall_assessment": ASSESSMENTS, "implementation_readiness": READINESS}.get(name)
    return _choice(text, options) if options else _score(text)


def values_of(name: str, text: str) -> list[Any]:
    """Every value a label's text gives, oldest first: '~~5/10~~ 8/10', '5/10 → 8/10' and the cells
    '5/10: 8/10' of a table row give 5 then 8."""
    struck = _STRUCK.findall(text)
    parts = [*struck, _STRUCK.sub(" ", text)] if struck else _ARROW.split(text)
    return [value for value in (_value(name, part) for part in parts) if value is not None]


def shown(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def summary_label(text: str) -> tuple[str, str] | None:
    """``(field, rest)`` when ``text`` starts with a summary label, e.g. 'Completeness Score: 7/10'."""
    for name, regex in _FIELD_RES.items():
        match = regex.match(text)
        if match:
            return name, re.sub(r"^[\s:*_=|\-–—]+", "", match.group("rest"))
    return None


def split_title(line: str) -> tuple[str, str] | None:
    """``**Title**: detail`` (colon inside or outside the bold, or a dash) -> (title, detail)."""
    match = _BOLD.match(line)
    if not match:
        return None
    title, rest = match.group("title").strip(), match.group("rest")
    if rest.strip() and not title.endswith(":") and rest.lstrip()[:1] not in (":", "-", "–", "—"):
        return None
    if not rest.lstrip().startswith(":"):
        title = title.rstrip(":").rstrip()
    detail = re.sub(r"^\s*(?::|[–—]|-(?=\s|$))?\s*", "", rest, count=1)
    return re.sub(r"^\d+[.)]\s+", "", title), detail.strip()


def _evidence(value: str) -> dict[str, Any]:
    """``"quote" (found in the design)`` -> quote, found; ``(design, lines 12–14)`` adds the lines too."""
    match = _EVIDENCE.match(value)
    assert match is not None  # every part of the pattern is optional
    quote = match.group("quote").strip()
    if len(quote) >= 2 and quote[0] in '"“' and quote[-1] in '"”':
        quote = quote[1:-1]
    found = None if match.group("where") is None else match.group("neg") is None
    fields: dict[str, Any] = {"evidence": quote, "evidence_found": found}
    marked = _BOLD_MATCH.search(quote)
    if marked and match.group("start"):  # a grounded review's quote with the matched words in bold
        plain = quote[: marked.start()] + marked.group(1) + _BOLD_MATCH.sub(r"\1", quote[marked.end() :])
        fields.update(evidence=plain, evidence_kind="shows", match_start=marked.start(),
                      match_end=marked.start() + len(marked.group(1)))  # fmt: skip
    if match.group("start"):
        fields["line_start"] = int(match.group("start"))
        fields["line_end"] = int(match.group("end") or match.group("start"))
    return fields


def _concerns(value: str) -> dict[str, Any]:
    """``FR-7, check consumer-dead-letter`` -> the requirement and check ids a finding concerns."""
    fields: dict[str, Any] = {}
    for part in (p.strip() for p in one_line(value).split(",")):
        if part.lower().startswith("check "):
            fields["check_id"] = part[6:].strip()
        elif part:
            fields["requirement_id"] = part
    return fields


def finding(severity: Severity, lines: list[str], title: str | None = None) -> Finding:
    """A finding from its lines; the first line gives the title unless ``title`` is given."""
    meta: dict[str, Any] = {}
    text: list[str] = []
    for i, line in enumerate(lines):
        match = _META.match(line) if i or title is not None else None
        label = match.group("label").lower() if match else ""
        if match and label == "section":
            meta["section"] = one_line(match.group("value"))
        elif match and label == "concerns":
            meta.update(_concerns(match.group("value")))
        elif match and label == "requirement":
            quoted = _REQUIREMENT.match(one_line(match.group("value")))
            if quoted:
                meta["requirement_text"] = quoted.group("text")
                meta["requirement_line"] = int(quoted.group("line")) if quoted.group("line") else None
        elif match and label == "searched for":
            terms = _SEARCHED.match(one_line(match.group("value")))
            meta["searched_for"] = [t.strip() for t in (terms.group("terms") if terms else "").split(",") if t.strip()]
            meta["evidence_kind"] = "absent"
        elif match:
            meta.update(_evidence(match.group("value")))
        else:
            text.append(line)
    split = split_title(text[0]) if title is None and text else None
    if split:
        title, text = split[0], [split[1], *text[1:]]
    elif title is None:
        title = first_sentence(" ".join(text))
    return Finding(severity=severity, title=title, detail=one_line(" ".join(text)), **meta)


# --- numbering -----------------------------------------------------------------------------

_NUMBERING = re.compile(
    r"^(?:(?:section|part|chapter|step|§)\s*(?=[\divxlc]))?(?:\d+(?:\.\d+)*\.?[):]?|(?:[ivxlc]+|[a-z])[.)]:?)\s+",
    re.I,
)


def strip_numbering(text: str) -> str:
    """A heading without its numbering: '4.1 Data', 'Section 4: Data', 'VII. Data', 'b) Data' -> 'Data'."""
    return _NUMBERING.sub("", text.strip(), count=1)
