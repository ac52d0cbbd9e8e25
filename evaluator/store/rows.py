"""Rows by column name: what the writer stores for a review, its document and its children.

Every row is built as a mapping from column name to value (never by position), so a new
column is one line here and in a migration.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb

from evaluator.documents.read import Document
from evaluator.review.record import Finding, RequirementCoverage, Review


@dataclass
class ReviewRecord:
    """Everything stored about one review attempt, successful or not."""

    run_id: str
    case_key: str
    source: str = "generated"
    status: str = "ok"
    review: Review | None = None
    markdown: str | None = None
    cache_key: str | None = None
    design: Document | None = None
    requirements: Document | None = None
    design_path: str | None = None
    requirements_path: str | None = None
    source_path: str | None = None
    prompt_hash: str | None = None
    error: str | None = None
    raw_output: str | None = None
    found_fields: list[str] | None = None
    parse_notes: list[str] | None = None  # an ingested review's parser notes (see evaluator.ingest.parse)
    doc_tokens: dict[str, int] = field(default_factory=dict)
    created_at: datetime | None = None  # default: now; an ingested review keeps its file's time


def utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def save_document(db: duckdb.DuckDBPyConnection, doc: Document, tokens: int | None) -> None:
    """The ``documents`` row of ``doc``, once per text; a converted document keeps its markdown and source map
    (filled in for a row an older version wrote without them)."""
    converted = doc.text if doc.converter else None
    source_map = json.dumps(doc.source_map.to_json()) if doc.source_map else None
    db.execute(
        "INSERT INTO documents (sha256, path, title, size_bytes, tokens, first_seen, source_format, converter, "
        "converted_text, source_map) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (sha256) DO UPDATE SET "
        "converted_text = coalesce(documents.converted_text, EXCLUDED.converted_text), "
        "source_map = coalesce(documents.source_map, EXCLUDED.source_map)",
        [doc.sha256, str(doc.path), doc.title, doc.size, tokens, utc_now(), doc.source_format, doc.converter,
         converted, source_map],
    )  # fmt: skip


def save_children(db: duckdb.DuckDBPyConnection, review_id: str, review: Review) -> None:
    """Insert the findings, coverage, section feedback and checklist rows of one review."""
    insert_rows(db, "findings", [_finding_row(review_id, i, f) for i, f in enumerate(review.findings)])
    insert_rows(db, "requirement_coverage", [_coverage_row(review_id, i, c) for i, c in enumerate(review.coverage)])
    insert_rows(db, "section_feedback", [
        {"review_id": review_id, "position": i, "key": s.key, "title": s.title, "feedback": s.feedback}
        for i, s in enumerate(review.sections)
    ])  # fmt: skip
    insert_rows(db, "checklist_items", [
        {"review_id": review_id, "position": i, "key": c.key, "text": c.text, "checked": c.checked}
        for i, c in enumerate(review.checklist)
    ])  # fmt: skip


_ROWS_PER_INSERT = 200  # DuckDB runs executemany row by row (~0.5 ms each); one multi-row VALUES is one statement


def insert_rows(db: duckdb.DuckDBPyConnection, table: str, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` (same columns, by name) with one statement per :data:`_ROWS_PER_INSERT` rows."""
    if not rows:
        return
    columns = list(rows[0])
    one = f"({', '.join('?' for _ in columns)})"
    for start in range(0, len(rows), _ROWS_PER_INSERT):
        chunk = rows[start : start + _ROWS_PER_INSERT]
        db.execute(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join(one for _ in chunk)}",
            [row[c] for row in chunk for c in columns],
        )


RUN_META = ("model_name", "model_sha256", "backend", "backend_version", "profile", "prompt_hash")


def insert_sql(table: str, row: dict[str, Any]) -> str:
    """An INSERT of ``row``'s columns; table and column names come from code, never from input."""
    return f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)})"


def _finding_row(review_id: str, position: int, f: Finding) -> dict[str, Any]:
    return {
        "review_id": review_id, "position": position, "severity": f.severity, "title": f.title,
        "detail": f.detail, "section": f.section, "evidence": f.evidence, "evidence_found": f.evidence_found,
        "source": f.source, "requirement_id": f.requirement_id, "check_id": f.check_id,
        "line_start": f.line_start, "line_end": f.line_end, "evidence_kind": f.evidence_kind,
        "match_start": f.match_start, "match_end": f.match_end, "requirement_text": f.requirement_text or None,
        "requirement_line": f.requirement_line, "searched_for": f.searched_for or None,
        "expected_in": f.expected_in or None, "model_verdict": f.model_verdict, "fingerprint": f.fingerprint,
    }  # fmt: skip


def _coverage_row(review_id: str, position: int, c: RequirementCoverage) -> dict[str, Any]:
    first = c.evidence[0] if c.evidence else None
    return {
        "review_id": review_id, "position": position, "requirement_id": c.requirement_id,
        "requirement_text": c.text, "mandatory": c.mandatory, "status": c.status, "score": c.score,
        "evidence": json.dumps([e.model_dump() for e in c.evidence]),
        "line_start": first.line_start if first else None, "line_end": first.line_end if first else None,
    }  # fmt: skip


def review_row(review_id: str, r: ReviewRecord) -> dict[str, Any]:
    """The ``reviews`` row of a record, by column name."""
    design, requirements = r.design, r.requirements
    row: dict[str, Any] = {
        "review_id": review_id, "run_id": r.run_id, "case_key": r.case_key, "cache_key": r.cache_key,
        "source": r.source, "source_path": r.source_path,
        "design_path": r.design_path or (str(design.path) if design else None),
        "requirements_path": r.requirements_path or (str(requirements.path) if requirements else None),
        "design_sha256": design.sha256 if design else None,
        "requirements_sha256": requirements.sha256 if requirements else None,
        "status": r.status, "error": r.error, "raw_output": r.raw_output,
        "title": design.title if design else None, "prompt_hash": r.prompt_hash, "found_fields": r.found_fields,
        "parse_notes": r.parse_notes,
        "markdown": r.markdown, "created_at": r.created_at or utc_now(),
    }  # fmt: skip
    if r.review is not None:
        row.update(_review_columns(r.review, checked=r.source == "generated"))
    return row


def _review_columns(rv: Review, *, checked: bool) -> dict[str, Any]:
    """The columns a review fills; injection flags only where the tool checked the documents."""
    processing, usage = rv.processing, rv.usage
    columns: dict[str, Any] = {
        "title": rv.title, "overall_assessment": rv.overall_assessment, "completeness_score": rv.completeness_score,
        "technical_soundness_score": rv.technical_soundness_score,
        "implementation_readiness": rv.implementation_readiness, "model_name": rv.model, "profile": rv.profile,
        "review_json": rv.model_dump_json(), "injection_flags": rv.injection_flags if checked else None,
        "model_completeness_score": rv.model_completeness_score,
        "model_technical_soundness_score": rv.model_technical_soundness_score,
    }  # fmt: skip
    if processing:
        columns.update(processing_mode=processing.mode, passes=processing.passes, retries=processing.retries)
        if processing.mode == "grounded":
            columns["model_parts"] = processing.model_parts
    if usage:
        columns.update(
            prompt_tokens=usage.prompt_tokens, cached_tokens=usage.cached_tokens,
            completion_tokens=usage.completion_tokens, seconds=usage.seconds, prompt_seconds=usage.prompt_seconds,
        )  # fmt: skip
    return columns
