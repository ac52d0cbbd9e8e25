"""A requirements document as a list of requirement statements with stable ids.

Recognised, in any mix:

* explicit ids at the start of a list item, table row or line: ``FR-1``, ``NFR-3``,
  ``REQ-12``, ``SEC_01``, ``US-3.2``, ``3.2.1`` (bold or not, followed by ``:``, ``.``, ``)``
  or a dash);
* table rows that carry such an id, or a modal verb ("shall", "must", ...);
* numbered or bulleted statements with a modal verb, and every item under a heading that
  says it lists requirements, constraints or acceptance criteria;
* requirement sentences inside prose paragraphs ("The service shall publish ...").

Statements under background, goal, glossary or history headings are context, not
requirements, unless they say "shall" or "must". Statements without an explicit id get
``R<n>`` in document order, so the same document always gives the same ids.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from evaluator.documents.passages import Block, blocks
from evaluator.documents.terms import STOP_WORDS, content_stems, tokens

_ID = r"(?:[A-Z][A-Z0-9]{0,7}(?:[-_][A-Z0-9]+)*[-_]\d+(?:\.\d+)*[a-z]?|\d+(?:\.\d+)+)"
_LEADING_ID = re.compile(rf"^\s*(?:\*\*|__)?\[?({_ID})\]?(?:\*\*|__)?\s*(?:[:.)\]–—-]\s*|\s+)(?=\S)")
_ROW_ID = re.compile(rf"^(?:\*\*|__)?({_ID})(?:\*\*|__)?$")
_MODAL = re.compile(
    r"\b(?:shall|must|is required to|are required to|has to|have to|needs to|need to|is expected to|"
    r"are expected to|should|will provide|will support)\b",
    re.IGNORECASE,
)
_STRONG_MODAL = re.compile(r"\b(?:shall|must|is required to|are required to)\b", re.IGNORECASE)
_LIST_HEADING = re.compile(r"requirement|constraint|acceptance|criteria|rules|obligation|\bnfr\b|\bfr\b", re.I)
_CONTEXT_HEADING = re.compile(
    r"background|context|overview|introduction|goal|objective|vision|glossary|definition|terminology|"
    r"history|revision|change ?log|document control|approval|reference|out of scope|non-goal|"
    r"open (?:question|issue)|assumption",
    re.IGNORECASE,
)
_CODE_SPAN = re.compile(r"`([^`\n]+)`")
_ENDPOINT = re.compile(r"\b(?:GET|POST|PUT|PATCH|DELETE)\s+/\S*|(?<![\w/])/[a-z][\w{}:.-]*(?:/[\w{}:.-]+)+")
_STATUS = re.compile(r"\b(?:HTTP\s*)?[1-5]\d\d\s+(?:Accepted|Created|OK|No Content)\b|\b[1-5]\d\d\b(?=\s*[A-Z(]|\s*$)")
_IDENTIFIER = re.compile(r"\b[a-z][a-z0-9]*(?:[_.][a-z0-9]+)+\b|\b[a-z]+[A-Z][A-Za-z0-9]+\b|\b[A-Z][a-z0-9]+[A-Z]\w*\b")
_PROPER = re.compile(r"(?<![.!?:;—–-] )(?<!^)(?<=\s|\()[A-Z][A-Za-z0-9+#]{2,}\b")


@dataclass(frozen=True)
class Requirement:
    """One requirement statement.

    ``id`` is the document's own id or ``R<n>``; ``line`` is 1-based; ``section`` is the
    heading path; ``terms`` are the key terms that a design addressing it would use
    (code spans, endpoints, status codes, identifiers, named technologies);
    ``stems`` the stems of all its content words, for retrieval.
    """

    id: str
    text: str
    line: int
    section: str
    explicit_id: bool = True
    terms: tuple[str, ...] = ()
    stems: tuple[str, ...] = field(default=(), repr=False)

    @property
    def mandatory(self) -> bool:
        """Whether it says shall/must (or gives no modal at all, as a table row often does)."""
        return bool(_STRONG_MODAL.search(self.text)) or not _MODAL.search(self.text)

    @property
    def negative(self) -> bool:
        """Whether it forbids something ("must not", "shall never", "no ... may")."""
        return bool(re.search(r"\b(?:must|shall|should|may|will|can)\s+(?:not|never)\b|\bmustn't\b", self.text, re.I))


def key_terms(text: str) -> tuple[str, ...]:
    """Code spans, endpoints, HTTP status codes, identifiers and named technologies in ``text``."""
    found: list[str] = []
    for pattern in (_CODE_SPAN, _ENDPOINT, _STATUS, _IDENTIFIER, _PROPER):
        for match in pattern.finditer(text):
            term = (match.group(1) if pattern is _CODE_SPAN else match.group(0)).strip()
            if len(term) > 2 and term.lower() not in STOP_WORDS and term.lower() not in (t.lower() for t in found):
                found.append(term)
    return tuple(found)


def parse_requirements(text: str) -> list[Requirement]:
    """Every requirement statement of a markdown requirements document, in order."""
    statements: list[tuple[str | None, str, int, str]] = []
    for block in blocks(text):
        statements.extend(_statements(block))
    taken = {sid for sid, *_ in statements if sid}
    result: list[Requirement] = []
    counter = 0
    seen: set[str] = set()
    for sid, body, line, section in statements:
        explicit = sid is not None
        if sid is None or sid in seen:
            counter += 1
            while f"R{counter}" in taken:
                counter += 1
            sid = f"R{counter}"
        seen.add(sid)
        result.append(Requirement(sid, body, line, section, explicit, key_terms(body), tuple(content_stems(body))))
    return result


def _statements(block: Block) -> list[tuple[str | None, str, int, str]]:
    """(id or None, text, 1-based line, section) for each requirement in one block."""
    section = " › ".join(block.path)
    heading = block.path[-1] if block.path else ""
    context = bool(_CONTEXT_HEADING.search(heading)) and not _LIST_HEADING.search(heading)
    if block.kind == "row":
        return _row(block, section, context)
    if block.kind not in ("sentence", "item"):
        return []
    found: list[tuple[str | None, str, int, str]] = []
    for offset, line in _lines_with_ids(block.text):
        number = block.line + block.text.count("\n", 0, offset) + 1
        match = _LEADING_ID.match(line)
        if match and not _looks_like_heading_number(line, match):
            body = _clean(line[match.end() :])
            if body and (not context or _STRONG_MODAL.search(body)):
                found.append((match.group(1), body, number, section))
            continue
        for sentence in _requirement_sentences(line, block.kind == "item" and bool(_LIST_HEADING.search(heading))):
            if not context or _STRONG_MODAL.search(sentence):
                found.append((None, _clean(sentence), number, section))
    return found


def _lines_with_ids(text: str) -> list[tuple[int, str]]:
    """Split a block where a line starts with an id; otherwise keep it whole."""
    lines = text.split("\n")
    if len(lines) == 1 or not any(_LEADING_ID.match(line) for line in lines[1:]):
        return [(0, text)]
    result: list[tuple[int, str]] = []
    offset = 0
    for line in lines:
        if _LEADING_ID.match(line) or not result:
            result.append((offset, line))
        else:
            result[-1] = (result[-1][0], result[-1][1] + "\n" + line)
        offset += len(line) + 1
    return result


def _looks_like_heading_number(line: str, match: re.Match[str]) -> bool:
    """A bare ``1.2`` followed by a few words is a version or a number, not an id."""
    return "." in match.group(1) and match.group(1)[0].isdigit() and len(tokens(line)) < 4


def _requirement_sentences(text: str, every_item: bool) -> list[str]:
    if every_item:
        return [text] if len(tokens(text)) >= 3 else []
    sentences = re.split(r"(?<=[.!?])\s+(?=[A-Z(`*])", text)
    return [s for s in sentences if _MODAL.search(s) and len(tokens(s)) >= 4]


def _row(block: Block, section: str, context: bool) -> list[tuple[str | None, str, int, str]]:
    cells = [c.strip() for c in block.text.split(" | ")]
    ids = [i for i, c in enumerate(cells) if _ROW_ID.match(c)]
    rest = [c for i, c in enumerate(cells) if i not in ids[:1] and c]
    body = _clean(" — ".join(rest))
    if not body or len(tokens(body)) < 3:
        return []
    if ids:
        return [(_ROW_ID.match(cells[ids[0]]).group(1), body, block.line + 1, section)]  # type: ignore[union-attr]
    if _MODAL.search(body) and (not context or _STRONG_MODAL.search(body)):
        return [(None, body, block.line + 1, section)]
    return []


def _clean(text: str) -> str:
    return " ".join(text.replace("**", "").replace("__", "").split())
