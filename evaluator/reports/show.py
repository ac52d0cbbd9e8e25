"""One case from the store: its latest review, or the markdown its design (or requirements) became.

A design in Word, PDF, HTML, reStructuredText or AsciiDoc is reviewed as the markdown it converts
to; evidence lines refer to that markdown. The store keeps it (``documents.converted_text``) with
where each line came from in the source file (``documents.source_map``), so a reader can check a
quote in the text that was reviewed and find it in the original.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from evaluator.documents.sources import SourceMap
from evaluator.errors import StoreError
from evaluator.reports.data import one_case
from evaluator.store import query, snapshot

Role = Literal["design", "requirements"]


@dataclass(frozen=True)
class ConvertedText:
    """The markdown a case's document was reviewed as, and where its lines are in the source file."""

    case_key: str
    role: Role
    path: str
    source_format: str
    converter: str
    text: str
    source_map: SourceMap | None

    def lines(self) -> list[tuple[int, str | None, str]]:
        """(markdown line number, its place in the source such as 'L40–42', '¶12' or 'p.3', the line)."""
        marks = {"line": "L", "paragraph": "¶", "page": "p."}
        rows = []
        for number, line in enumerate(self.text.rstrip("\n").split("\n"), 1):
            span = self.source_map.span(number) if self.source_map else None
            where = None
            if span and self.source_map:
                first, last = span
                where = f"{marks[self.source_map.unit]}{first}" + (f"–{last}" if last != first else "")
            rows.append((number, where, line))
        return rows


def latest_review(db: Path, case: str) -> tuple[str, str]:
    """(case key, markdown) of the latest successful review of ``case`` (a key or a glob naming one)."""
    with snapshot(db):
        key = one_case(db, case)
        _, rows = query(db, "SELECT coalesce(markdown, '') FROM latest_reviews WHERE case_key = ?", [key])
    return key, str(rows[0][0])


def converted_text(db: Path, case: str, role: Role = "design") -> ConvertedText:
    """The converted markdown of the ``role`` document of ``case``'s latest review.

    Raises StoreError when the case is not found, its document was markdown already (nothing was
    converted: the file itself is the text), or it was reviewed before the store kept conversions.
    """
    with snapshot(db):
        key = one_case(db, case)
        _, rows = query(
            db,
            f"SELECT d.path, coalesce(d.source_format, 'markdown'), d.converter, d.converted_text, d.source_map "
            f"FROM latest_reviews r JOIN documents d ON d.sha256 = r.{role}_sha256 WHERE r.case_key = ?",
            [key],
        )
    if not rows:
        raise StoreError(f"the latest review of {key} has no {role} document stored")
    path, fmt, converter, text, source_map = rows[0]
    if not converter:
        raise StoreError(f"the {role} of {key} is {fmt} ({path}): nothing was converted — read the file itself")
    if text is None:
        raise StoreError(
            f"the {role} of {key} ({path}) was reviewed before the store kept converted text — review it again"
        )
    mapped = SourceMap.from_json(json.loads(source_map)) if source_map else None
    return ConvertedText(key, role, path, fmt, converter, text, mapped)
