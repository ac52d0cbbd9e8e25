"""Small text helpers shared by the reviewer, the parser and calibration: one home each.

Pure functions of strings; no I/O.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel

# Emphasis, code and quote marks that a model or a person adds around the same words;
# \u2009 (thin space) is what prompts.untrusted puts inside delimiters a document imitates.
_MARKUP = re.compile(r"[*_`\"'“”‘’\u2009]")


def one_line(text: str) -> str:
    """Every run of whitespace (newlines included) as one space, ends stripped; case kept."""
    return " ".join(text.split())


def clip(text: str, limit: int, *, mark: str = "…", cut: int | None = None) -> str:
    """``text`` if it has at most ``limit`` characters; else its words within the first ``cut``
    characters (default ``limit``), cut at a word boundary, then ``mark``.

    The one excerpt helper: evidence quotes, requirement texts in findings and prompts, the
    first sentence of an ingested finding.
    """
    if len(text) <= limit:
        return text
    head = text[: limit if cut is None else cut]
    return (head.rsplit(" ", 1)[0] or head) + mark


def normalise(text: str) -> str:
    """``text`` for comparing: lowercase, without emphasis and quote marks, whitespace collapsed."""
    return one_line(_MARKUP.sub("", text.lower()))


def quote_found(quote: str, text: str) -> bool:
    """Whether ``quote`` occurs in ``text``, ignoring case, whitespace, quotes and emphasis."""
    needle = normalise(quote).strip(" .,;:…")
    return bool(needle) and needle in normalise(text)


def dedupe(items: list[Any]) -> list[Any]:
    """``items`` without repeats, first kept; dicts and models compare by ``title``, text normalised."""
    seen: set[str] = set()
    kept = []
    for item in items:
        if isinstance(item, dict):
            text = str(item.get("title", ""))
        elif isinstance(item, BaseModel):
            text = str(getattr(item, "title", item))
        else:
            text = str(item)
        key = normalise(text)
        if key not in seen:
            seen.add(key)
            kept.append(item)
    return kept
