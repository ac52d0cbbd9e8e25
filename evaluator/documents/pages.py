"""A PDF's extracted text, page by page: one continuous document with each line's page.

The PDF extractor (pdfminer, through MarkItDown) ends every page with a form feed and keeps
what a printed page carries around the text: page numbers, running headers and footers. Read
as it is, a sentence that runs over a page break is cut in two by a blank line and a page
number, so the reviewer's quotes start mid-sentence. Here the text is split at the form feeds,
page numbers and lines repeated at the top or bottom of most pages are dropped, and a page that
ends mid-sentence is joined to the next one's first line without a paragraph break. Each line
keeps its page number (1-based). The title is the first heading-like line of the first page.
Pure functions, used by the converter worker.
"""

from __future__ import annotations

import re
from collections import Counter

from evaluator.documents.sources import Positions, normalise

_PAGE_NUMBER = re.compile(r"^\s*(?:[-–—]\s*)?(?:page\s+)?\d{1,4}(?:\s*(?:/|of)\s*\d{1,4})?(?:\s*[-–—])?\s*$", re.I)
_SENTENCE_END = re.compile(r"[.!?:;]['\")\]]*\s*$")
_MIN_PAGES_FOR_RUNNING = 2  # a line at the edges of this many pages, and of half of them, is a running line


def pages_text(raw: str) -> tuple[str, Positions, str | None]:
    """The text of a PDF extraction (pages ended by form feeds): (text, each line's page, title or None)."""
    pages = [_trim(page.split("\n")) for page in raw.split("\f")]
    while pages and not pages[-1]:
        pages.pop()  # the form feed after the last page
    running = _running_lines(pages)
    lines: list[tuple[str, int | None]] = []
    for number, page in enumerate(pages, 1):
        body = _trim(_edges_dropped(page, running, first=number == 1))
        if not body:
            continue
        if lines and _continues(lines, body):
            while lines and not lines[-1][0].strip():
                lines.pop()  # the paragraph break the page break made
        elif lines:
            lines.append(("", None))
        lines += [(line, number) for line in body]
    text, positions = normalise(lines)
    return text, positions, _title(pages[0] if pages else [])


def _trim(lines: list[str]) -> list[str]:
    start, end = 0, len(lines)
    while start < end and not lines[start].strip():
        start += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    return lines[start:end]


def _key(line: str) -> str:
    return re.sub(r"\d+", "#", line.strip().lower())  # "Design v2 — page 3" repeats as "design v# — page #"


def _running_lines(pages: list[list[str]]) -> set[str]:
    """Lines that stand at the top or bottom of at least half of the pages (two or more)."""
    if len(pages) < _MIN_PAGES_FOR_RUNNING:
        return set()
    edges = Counter(_key(line) for page in pages for line in {*page[:2], *page[-2:]} if line.strip())
    return {key for key, count in edges.items() if count >= max(_MIN_PAGES_FOR_RUNNING, len(pages) / 2)}


def _edges_dropped(page: list[str], running: set[str], *, first: bool) -> list[str]:
    """The page without page numbers and running lines among its first and last two lines (the first
    page's top keeps its lines: a running header there is the document's title)."""
    drop = set()
    for i in [*range(min(2, len(page))), *range(max(0, len(page) - 2), len(page))]:
        if _PAGE_NUMBER.match(page[i]) or (_key(page[i]) in running and not (first and i < 2)):
            drop.add(i)
    return [line for i, line in enumerate(page) if i not in drop]


def _continues(lines: list[tuple[str, int | None]], body: list[str]) -> bool:
    """Whether the text so far ends mid-sentence and the next page goes on with it."""
    last = next((text for text, _ in reversed(lines) if text.strip()), "")
    first = body[0].lstrip()
    return bool(last) and not _SENTENCE_END.search(last) and (first[:1].islower() or first[:1] in ",;)")


def _title(page: list[str]) -> str | None:
    """The first heading-like line: short, with letters, not a sentence, a page number or a date."""
    for line in page[:8]:
        text = " ".join(line.split())
        if not text or _PAGE_NUMBER.match(text):
            continue
        short = len(text.split()) <= 14 and len(text) <= 120 and not text.endswith(".")
        date = re.fullmatch(r"[\d\s/.,:-]+|(?:\w+ )?\d{1,2},? \d{4}", text)
        return text if short and re.search(r"[A-Za-z]{2}", text) and not date else None  # a sentence: no title
    return None
