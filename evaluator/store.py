"""The DuckDB store: one writer process, migrated on open, one transaction per review.

A review and all its rows (document, findings, section feedback, checklist) are written in
one transaction, so a process killed at any moment leaves either the whole review or none
of it. Reads for ``sql`` go through a separate read-only connection that cannot write,
attach files or load extensions.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from evaluator import __version__
from evaluator.documents import Document
from evaluator.errors import EvaluatorError
from evaluator.migrations import MIGRATIONS
from evaluator.review import Review


class StoreError(EvaluatorError):
    """The database cannot be opened or queried."""


# DuckDB downloads a missing extension on first use (httpfs for an https:// path, for one):
# every connection the tool opens forbids that, so no statement can make it reach the network.
NO_EXTENSION_DOWNLOADS: dict[str, str | bool | int | float | list[str]] = {
    "autoload_known_extensions": False,
    "autoinstall_known_extensions": False,
    "allow_community_extensions": False,
}


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
    doc_tokens: dict[str, int] = field(default_factory=dict)
    created_at: datetime | None = None  # default: now; an ingested review keeps its file's time


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _open_error(path: Path, exc: Exception) -> StoreError:
    text = str(exc)
    if "lock" in text.lower():
        pid = re.search(r"PID (\d+)", text)
        who = f"process {pid.group(1)}" if pid else "another process"
        return StoreError(f"the database {path} is in use by {who} — wait for it to finish, or use another --db")
    return StoreError(f"cannot open the database {path}: {text.splitlines()[0]}")


class Store:
    """A read-write connection to one DuckDB file; use as a context manager."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = duckdb.connect(str(path), config=dict(NO_EXTENSION_DOWNLOADS))
        except (duckdb.Error, OSError) as exc:
            raise _open_error(path, exc) from None
        self.migrate()
        # Only one writer can hold the file, so a run still marked 'running' was killed.
        self._db.execute("UPDATE runs SET status = 'interrupted' WHERE status = 'running'")

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection (checkpointing the WAL)."""
        self._db.close()

    def migrate(self) -> int:
        """Apply missing migrations in order; return the schema version."""
        db = self._db
        db.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)"
        )
        row = db.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()
        current = int(row[0]) if row else 0
        for version, (name, sql) in enumerate(MIGRATIONS, 1):
            if version <= current:
                continue
            db.execute("BEGIN TRANSACTION")
            try:
                db.execute(sql)
                db.execute("INSERT INTO schema_migrations VALUES (?, ?, ?)", [version, name, _now()])
                db.execute("COMMIT")
            except duckdb.Error:
                db.execute("ROLLBACK")
                raise
        return len(MIGRATIONS)

    def begin_run(self, kind: str, source: str, **meta: Any) -> str:
        """Record a new run as 'running'; return its id."""
        run_id = uuid.uuid4().hex
        settings = meta.pop("settings", None)
        self._db.execute(
            "INSERT INTO runs (run_id, kind, status, started_at, source, tool_version, model_name, model_sha256, "
            "profile, prompt_hash, settings) VALUES (?, ?, 'running', ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                run_id,
                kind,
                _now(),
                source,
                __version__,
                meta.get("model_name"),
                meta.get("model_sha256"),
                meta.get("profile"),
                meta.get("prompt_hash"),
                json.dumps(settings) if settings is not None else None,
            ],
        )
        return run_id

    def finish_run(self, run_id: str, status: str, *, total: int, ok: int, failed: int, skipped: int) -> None:
        """Close a run with its status and counts."""
        self._db.execute(
            "UPDATE runs SET status = ?, finished_at = ?, cases_total = ?, cases_ok = ?, cases_failed = ?, "
            "cases_skipped = ? WHERE run_id = ?",
            [status, _now(), total, ok, failed, skipped, run_id],
        )

    def has_review(self, cache_key: str) -> bool:
        """Whether a successful review with these exact inputs and settings exists."""
        row = self._db.execute(
            "SELECT count(*) FROM reviews WHERE cache_key = ? AND status = 'ok'", [cache_key]
        ).fetchone()
        return bool(row and row[0])

    def save_calibration(self, run: dict[str, Any], cases: list[dict[str, Any]], matches: list[dict[str, Any]]) -> None:
        """Write one calibration (see evaluator.calibration) and its case and defect rows in one transaction."""
        db = self._db
        db.execute("BEGIN TRANSACTION")
        try:
            tables = {"calibration_runs": [run], "calibration_cases": cases, "calibration_matches": matches}
            for table, rows in tables.items():
                if rows:
                    db.executemany(_insert(table, rows[0]), [list(r.values()) for r in rows])
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def save(self, record: ReviewRecord) -> str:
        """Write one review and all its rows in a single transaction; return its id."""
        review_id = uuid.uuid4().hex
        db = self._db
        db.execute("BEGIN TRANSACTION")
        try:
            for doc in (record.design, record.requirements):
                if doc is not None:
                    self._save_document(doc, record.doc_tokens.get(doc.sha256))
            db.execute(_INSERT_REVIEW, _review_row(review_id, record))
            if record.review is not None:
                self._save_children(review_id, record.review)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return review_id

    def _save_document(self, doc: Document, tokens: int | None) -> None:
        self._db.execute(
            "INSERT INTO documents VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (sha256) DO NOTHING",
            [doc.sha256, str(doc.path), doc.title, doc.size, tokens, _now()],
        )

    def _save_children(self, review_id: str, review: Review) -> None:
        db = self._db
        if review.findings:
            db.executemany(
                "INSERT INTO findings VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    [review_id, i, f.severity, f.title, f.detail, f.section, f.evidence, f.evidence_found]
                    for i, f in enumerate(review.findings)
                ],
            )
        if review.sections:
            db.executemany(
                "INSERT INTO section_feedback VALUES (?, ?, ?, ?, ?)",
                [[review_id, i, s.key, s.title, s.feedback] for i, s in enumerate(review.sections)],
            )
        if review.checklist:
            db.executemany(
                "INSERT INTO checklist_items VALUES (?, ?, ?, ?, ?)",
                [[review_id, i, c.key, c.text, c.checked] for i, c in enumerate(review.checklist)],
            )


_REVIEW_COLUMNS = [
    "review_id", "run_id", "case_key", "cache_key", "source", "source_path", "design_path", "requirements_path",
    "design_sha256", "requirements_sha256", "status", "error", "raw_output", "title", "overall_assessment",
    "completeness_score", "technical_soundness_score", "implementation_readiness", "model_name", "profile",
    "prompt_hash", "processing_mode", "passes", "retries", "found_fields", "prompt_tokens", "cached_tokens",
    "completion_tokens", "seconds", "review_json", "markdown", "created_at", "prompt_seconds", "injection_flags",
]  # fmt: skip
_INSERT_REVIEW = (
    f"INSERT INTO reviews ({', '.join(_REVIEW_COLUMNS)}) VALUES ({', '.join('?' for _ in _REVIEW_COLUMNS)})"
)


def _insert(table: str, row: dict[str, Any]) -> str:
    """An INSERT of ``row``'s columns; table and column names come from code, never from input."""
    return f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)})"


def _review_row(review_id: str, r: ReviewRecord) -> list[Any]:
    rv, usage = r.review, (r.review.usage if r.review else None)
    processing = rv.processing if rv else None
    return [
        review_id, r.run_id, r.case_key, r.cache_key, r.source, r.source_path,
        r.design_path or (str(r.design.path) if r.design else None),
        r.requirements_path or (str(r.requirements.path) if r.requirements else None),
        r.design.sha256 if r.design else None, r.requirements.sha256 if r.requirements else None,
        r.status, r.error, r.raw_output,
        rv.title if rv else (r.design.title if r.design else None),
        rv.overall_assessment if rv else None, rv.completeness_score if rv else None,
        rv.technical_soundness_score if rv else None, rv.implementation_readiness if rv else None,
        rv.model if rv else None, rv.profile if rv else None, r.prompt_hash,
        processing.mode if processing else None, processing.passes if processing else None,
        processing.retries if processing else None, r.found_fields,
        usage.prompt_tokens if usage else None, usage.cached_tokens if usage else None,
        usage.completion_tokens if usage else None, usage.seconds if usage else None,
        rv.model_dump_json() if rv else None, r.markdown, r.created_at or _now(),
        usage.prompt_seconds if usage else None,
        rv.injection_flags if rv and r.source == "generated" else None,  # ingested reviews were not checked
    ]  # fmt: skip


def query(path: Path, sql: str, params: list[Any] | None = None) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run one read-only statement; writes, ATTACH and extension loading are refused."""
    if not path.is_file():
        raise StoreError(f"no database at {path} — run `evaluator batch` first, or pass --db")
    try:
        db = duckdb.connect(
            str(path),
            read_only=True,
            config={**NO_EXTENSION_DOWNLOADS, "enable_external_access": False, "lock_configuration": True},
        )
    except duckdb.Error as exc:
        raise _open_error(path, exc) from None
    try:
        cursor = db.execute(sql, params or [])
        columns = [d[0] for d in cursor.description or []]
        return columns, cursor.fetchall()
    except duckdb.Error as exc:
        message = str(exc).splitlines()[0]
        if "read-only" in message or message.startswith("Permission Error") or "has been locked" in message:
            raise StoreError(f"refused: `evaluator sql` only reads ({message})") from None
        raise StoreError(f"query failed: {message}") from None
    finally:
        db.close()
