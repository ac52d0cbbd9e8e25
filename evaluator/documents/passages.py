"""A markdown document as addressable passages: section path, line span and text.

Every passage's text is a verbatim slice of the document (its source lines, or a sentence
within them), so evidence that cites a passage exists in the document by construction. The
markdown structure comes from markdown-it (a ``#`` inside a code fence is code, not a
heading); prose is split into sentences by pysbd. YAML front matter is one code passage.

Line numbers are 1-based and inclusive, counted in the text the tool reviewed (for a
converted Word or PDF file: the converted markdown).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from markdown_it import MarkdownIt

from evaluator.documents.roles import SectionRole, describes_present, run_in_role, section_roles

PassageKind = Literal["heading", "sentence", "item", "row", "code"]
_CODE_CHUNK_LINES = 6
_LABEL = re.compile(r"\s*(?:\*\*|__)[^*_\n]{2,40}?[.:]?(?:\*\*|__)[.:]?")  # "**Context.**", "**Note**:"
_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?\n)(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)


@dataclass(frozen=True)
class Passage:
    """One addressable piece of a document.

    ``id`` is ``P<n>`` in document order; ``section`` the heading path joined by " › "
    (empty before the first heading); ``line_start``/``line_end`` 1-based, inclusive;
    ``role`` what its section is for (:mod:`evaluator.documents.roles`; a paragraph that opens with a
    bold label — "**Context.** …", "**Alternatives:** …" — takes the label's role): only ``design``
    passages decide.
    """

    id: str
    kind: PassageKind
    section: str
    line_start: int
    line_end: int
    text: str
    role: SectionRole = "design"
    head: bool = False  # a table's header row: it names columns and decides nothing

    @property
    def lines(self) -> str:
        """``line 12`` or ``lines 12–14``."""
        if self.line_start == self.line_end:
            return f"line {self.line_start}"
        return f"lines {self.line_start}–{self.line_end}"

    @property
    def heading(self) -> str:
        """The innermost heading of the passage's section."""
        return self.section.rsplit(" › ", 1)[-1]

    @property
    def reading(self) -> str:
        """:attr:`plain`, except a table row that a PDF cut into a cell per word or two ("Tracks |
        and stores | audit | logs"), which reads as the sentence it was; its offsets are not those
        of :attr:`plain`."""
        if self.kind == "row":
            cells = [c for c in self.plain.split(" | ") if c.strip()]
            if cut_sentence(cells):
                return " ".join(cells)
        return self.plain

    @property
    def plain(self) -> str:
        """The text on one line without code and emphasis marks, as rules match it and quotes show it:
        "kept as plain `text`" reads as prose, and a hard-wrapped sentence is one line."""
        return " ".join(self.text.replace("`", "").replace("**", "").split())


def cut_sentence(cells: list[str]) -> bool:
    """Whether the non-empty cells of a table row are a sentence cut into a cell per word or two,
    as PDF table extraction leaves it ("Stable releases | shall | be | released | twice")."""
    return len(cells) >= 4 and sum(len(c.split()) for c in cells) <= 2 * len(cells)


@dataclass(frozen=True)
class Hit:
    """Where a rule matched: a passage, and the matched words as character offsets into its
    :attr:`Passage.plain` text (``start == end`` when the whole passage is the evidence)."""

    passage: Passage
    start: int = 0
    end: int = 0

    @property
    def words(self) -> str:
        """The matched words ("" when the rule matched the passage as a whole)."""
        return self.passage.plain[self.start : self.end]


@dataclass(frozen=True)
class Block:
    """A markdown block before sentence splitting: kind, heading path, first line, source text."""

    kind: PassageKind
    path: tuple[str, ...]
    line: int  # 0-based first line
    text: str
    level: int = 0  # a heading's level (1 for "#"); 0 for other blocks
    head: bool = False  # a table's header row


@cache
def markdown() -> MarkdownIt:
    """The one markdown parser: CommonMark plus tables."""
    return MarkdownIt("commonmark").enable("table")


def front_matter(text: str) -> tuple[str, int]:
    """The YAML front matter block (or "") and the number of lines it takes."""
    match = _FRONT_MATTER.match(text)
    if not match:
        return "", 0
    return match.group(0), match.group(0).count("\n")


def blocks(text: str) -> Iterator[Block]:
    """The document's blocks in order: headings, paragraphs, list items, table rows, code."""
    matter, skip = front_matter(text)
    if matter:
        yield Block("code", (), 0, matter.rstrip("\n"))
    body = "\n" * skip + text[len(matter) :]
    tokens = markdown().parse(body)
    path: list[tuple[int, str]] = []
    items, head = 0, False
    for i, token in enumerate(tokens):
        if token.type == "heading_open":
            level, title = int(token.tag[1]), " ".join(tokens[i + 1].content.split())
            path = [p for p in path if p[0] < level] + [(level, title)]
            yield Block("heading", _titles(path), _line(token), title, level)
        elif token.type in ("bullet_list_open", "ordered_list_open"):
            items += 1
        elif token.type in ("bullet_list_close", "ordered_list_close"):
            items -= 1
        elif token.type == "inline" and tokens[i - 1].type == "paragraph_open":
            yield Block("item" if items else "sentence", _titles(path), _line(tokens[i - 1]), token.content)
        elif token.type in ("thead_open", "thead_close"):
            head = token.type == "thead_open"
        elif token.type == "tr_open":
            yield Block("row", _titles(path), _line(token), _row(tokens, i), head=head)
        elif token.type in ("fence", "code_block", "html_block"):
            yield from _code(token, _titles(path))


@dataclass(frozen=True)
class CodeBlock:
    """A whole code block: its info-string language ("" when none), text and 1-based first line."""

    language: str
    text: str
    line: int


def code_blocks(text: str) -> list[CodeBlock]:
    """Every fenced or indented code block of a markdown document, whole (passages cut code into chunks)."""
    matter, skip = front_matter(text)
    found = [CodeBlock("yaml", matter.strip("-\n. "), 2)] if matter else []
    for token in markdown().parse("\n" * skip + text[len(matter) :]):
        if token.type in ("fence", "code_block") and token.content.strip():
            language = token.info.split()[0].lower() if token.type == "fence" and token.info.strip() else ""
            found.append(CodeBlock(language, token.content, _line(token) + (2 if token.type == "fence" else 1)))
    return found


def _titles(path: list[tuple[int, str]]) -> tuple[str, ...]:
    return tuple(title for _, title in path)


def _line(token: Any) -> int:
    return int(token.map[0]) if token.map else 0


def _row(tokens: list[Any], start: int) -> str:
    cells = []
    for token in tokens[start + 1 :]:
        if token.type == "tr_close":
            break
        if token.type == "inline":
            cells.append(token.content.strip())
    return " | ".join(cells)


def _code(token: Any, path: tuple[str, ...]) -> Iterator[Block]:
    """Code in chunks of a few lines, split at blank lines where possible."""
    first = _line(token) + (1 if token.type == "fence" else 0)
    lines = token.content.rstrip("\n").split("\n")
    start = 0
    while start < len(lines):
        end = min(start + _CODE_CHUNK_LINES, len(lines))
        blank = next((j for j in range(end - 1, start, -1) if not lines[j].strip()), None)
        if blank is not None and end < len(lines):
            end = blank + 1
        chunk = "\n".join(lines[start:end]).strip("\n")
        if chunk.strip():
            offset = next(j for j in range(start, end) if lines[j].strip())
            yield Block("code", path, first + offset, chunk)
        start = end


def passages(text: str) -> list[Passage]:
    """Split a markdown document into passages; see the module docstring."""
    found: list[Passage] = []
    every = list(blocks(text))
    roles = section_roles([b.path for b in every])
    for block, role in zip(every, roles, strict=True):
        role = run_in_role(block.text) or role if block.kind in ("sentence", "item") else role
        section = " › ".join(block.path)
        pieces = _sentences(block.text) if block.kind in ("sentence", "item") else [(0, block.text)]
        for offset, piece in pieces:
            start = block.line + block.text.count("\n", 0, offset) + 1
            end = start + piece.count("\n")
            own = "context" if role == "design" and block.kind != "code" and describes_present(piece) else role
            found.append(Passage(f"P{len(found) + 1}", block.kind, section, start, end, piece, own, block.head))
    return found


_PER_THREAD = threading.local()


def _segmenter() -> Any:
    """pysbd's sentence segmenter, one per thread.

    A segmenter keeps the text it splits on itself, so one shared by the batch's threads mixes
    their documents up (measured: the passages of 24 of 25 sample designs changed when split
    on 8 threads at once).
    """
    segmenter = getattr(_PER_THREAD, "segmenter", None)
    if segmenter is None:
        import pysbd

        segmenter = _PER_THREAD.segmenter = pysbd.Segmenter(language="en", clean=False, char_span=True)
    return segmenter


def _sentences(text: str) -> list[tuple[int, str]]:
    """(offset, sentence) pairs; each sentence a verbatim, stripped slice of ``text``."""
    if len(text) < 80 or not re.search(r"[.!?]\s+\S", text):
        return [(0, text.strip())] if text.strip() else []
    found: list[tuple[int, str]] = []
    # pysbd ends a sentence at every line break; hard-wrapped prose must not be cut there.
    # A bold run-in label ("**Rate limiting.** Not implemented …") belongs to its first sentence: its
    # full stop is hidden from the splitter (same length, so the spans still slice ``text``).
    label = _LABEL.match(text)
    masked = text[: label.end()].replace(".", " ").replace(":", " ") + text[label.end() :] if label else text
    for span in _segmenter().segment(masked.replace("\n", " ")):
        raw = text[span.start : span.end]
        stripped = raw.strip()
        if stripped:
            found.append((span.start + raw.index(stripped), stripped))
    return found or [(0, text.strip())]
