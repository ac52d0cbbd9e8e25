"""Where each line of a converted document came from in its source file.

A ``.rst``, ``.adoc`` or ``.html`` design is reviewed as the markdown it converts to, so its
evidence lines are lines of that markdown; a reader checks them against the original. A
:class:`SourceMap` gives, for every markdown line, the span of the source it came from: source
lines for reStructuredText, AsciiDoc and HTML, paragraph numbers (in document order, table
cells included) for Word, page numbers for PDF.

Lines are found by aligning words: the markdown's words and the source's words (each with its
line, paragraph or page) are matched as two sequences (:class:`difflib.SequenceMatcher`), so
markup on either side (``**``, ``::``, tags) does not matter, and a markdown line maps to the
positions of the words it shares with the source. PDF pages are known exactly (the extractor
marks page breaks). Pure functions; the converter worker and :mod:`.formats` call them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher
from html.parser import HTMLParser
from typing import Any, Literal

Unit = Literal["line", "paragraph", "page"]
# Per markdown line: the first and last source position its words came from, or None.
Positions = list[tuple[int, int] | None]

_WORD = re.compile(r"\w+")
_UNIT_NAMES = {"line": ("line", "lines"), "paragraph": ("paragraph", "paragraphs"), "page": ("page", "pages")}


@dataclass(frozen=True)
class SourceMap:
    """Positions in the source file ``name`` of each line of its markdown (1-based lines)."""

    name: str
    unit: Unit
    positions: tuple[tuple[int, int] | None, ...]

    def span(self, start: int, end: int | None = None) -> tuple[int, int] | None:
        """The source span of markdown lines ``start``-``end`` (1-based, inclusive), or None when unknown."""
        found = [p for p in self.positions[max(0, start - 1) : (end or start)] if p]
        return (min(p[0] for p in found), max(p[1] for p in found)) if found else None

    def describe(self, start: int, end: int | None = None) -> str | None:
        """'tech-design.rst, lines 40–42', 'tech-design.docx, paragraph 12', 'tech-design.pdf, pages 3–4'."""
        span = self.span(start, end)
        if span is None:
            return None
        one, many = _UNIT_NAMES[self.unit]
        where = f"{one} {span[0]}" if span[0] == span[1] else f"{many} {span[0]}–{span[1]}"
        return f"{self.name}, {where}"

    def to_json(self) -> dict[str, Any]:
        """The stored form (``documents.source_map``)."""
        return {"name": self.name, "unit": self.unit, "positions": [list(p) if p else None for p in self.positions]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SourceMap:
        """Read the stored form back."""
        positions = tuple((int(p[0]), int(p[1])) if p else None for p in data["positions"])
        return cls(str(data["name"]), data["unit"], positions)


def align(text: str, tokens: list[tuple[str, int]]) -> Positions:
    """For each line of ``text``, the (first, last) position of its words in the source's ``tokens``
    ((word, position) in source order); None for a line with no word found in the source."""
    words = [(match.group().lower(), n) for n, line in enumerate(text.split("\n")) for match in _WORD.finditer(line)]
    # autojunk: words in more than 1 % of a long source ("the") are not matched on their own; they
    # would only slow the matcher down (8 s instead of 0.1 s for 15,000 words) and add nothing.
    matcher = SequenceMatcher(None, [w for w, _ in words], [w.lower() for w, _ in tokens], autojunk=True)
    lines: list[list[int]] = [[] for _ in text.split("\n")]
    for a, b, size in matcher.get_matching_blocks():
        for k in range(size):
            lines[words[a + k][1]].append(tokens[b + k][1])
    return [(min(found), max(found)) if found else None for found in lines]


def line_tokens(source: str) -> list[tuple[str, int]]:
    """The words of a text source with their 1-based line numbers (reStructuredText, AsciiDoc)."""
    return [(m.group(), n) for n, line in enumerate(source.split("\n"), 1) for m in _WORD.finditer(line)]


class _HtmlText(HTMLParser):
    """The words of an HTML page's text (no tags, scripts or styles) with their source lines."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tokens: list[tuple[str, int]] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._skip += tag in ("script", "style")

    def handle_endtag(self, tag: str) -> None:
        self._skip -= tag in ("script", "style") and self._skip > 0

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        line = self.getpos()[0]
        for offset, part in enumerate(data.split("\n")):
            self.tokens += [(m.group(), line + offset) for m in _WORD.finditer(part)]


def html_tokens(html: str) -> list[tuple[str, int]]:
    """The words of an HTML page's text with their 1-based source lines."""
    parser = _HtmlText()
    parser.feed(html)
    parser.close()
    return parser.tokens


def normalise(lines: list[tuple[str, int | None]]) -> tuple[str, Positions]:
    """Lines with their page (or None) as markdown text and positions: trailing spaces removed, runs
    of blank lines made one, blank lines at both ends dropped (what the converter does to any text)."""
    kept: list[tuple[str, int | None]] = []
    for text, page in lines:
        text = text.rstrip()
        if text or (kept and kept[-1][0]):
            kept.append((text, page))
    while kept and not kept[-1][0]:
        kept.pop()
    return "\n".join(t for t, _ in kept) + "\n", [(p, p) if p and t else None for t, p in kept] + [None]
