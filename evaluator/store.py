"""The DuckDB store: one writer process, migrated on open, one short transaction per review.

A review and all its rows (document, findings, section feedback, checklist) are written in
one transaction, so a process killed at any moment leaves either the whole review or none
of it. DuckDB lets one process hold a file for writing and then nobody else, not even a
reader: so the writer holds the file only while it writes (open, one transaction, close),
and being *the* writer is a lock on a sidecar file (``<db>.lock``, see :mod:`filelock`)
held for the writer's whole life. Readers (``sql``, ``trends``, ``report``, ``status``,
``export``) open the file read-only between two writes (:func:`read_only`), waiting and
retrying for a moment when they meet a write in progress; they hold it only for their
queries. Reads for ``sql`` go through a connection that cannot write, attach files or load
extensions.
"""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TypeVar

import duckdb
from filelock import FileLock, Timeout

from evaluator.documents.read import Document
from evaluator.errors import StoreError
from evaluator.migrations import MIGRATIONS
from evaluator.review.record import Finding, RequirementCoverage, Review
from evaluator.version import __version__

# DuckDB downloads a missing extension on first use (httpfs for an https:// path, for one):
# every connection the tool opens forbids that, so no statement can make it reach the network.
NO_EXTENSION_DOWNLOADS: dict[str, str | bool | int | float | list[str]] = {
    "autoload_known_extensions": False,
    "autoinstall_known_extensions": False,
    "allow_community_extensions": False,
}

# The DuckDB Python package 2.x writes a storage format (version 69) that the 1.x CLI and
# other 1.x clients cannot read; a file created with this compatibility version opens in
# every DuckDB since 1.0 and stays at it when written by a newer one.
STORAGE_VERSION = "v1.0.0"
WRITE_CONFIG: dict[str, str | bool | int | float | list[str]] = {
    **NO_EXTENSION_DOWNLOADS,
    "storage_compatibility_version": STORAGE_VERSION,
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
    parse_notes: list[str] | None = None  # an ingested review's parser notes (see evaluator.parse)
    doc_tokens: dict[str, int] = field(default_factory=dict)
    created_at: datetime | None = None  # default: now; an ingested review keeps its file's time


def _storage_version(db: duckdb.DuckDBPyConnection) -> str:
    """The storage compatibility version of the open file, e.g. 'v1.0.0' (tags say 'v1.0.0+')."""
    row = db.execute("SELECT tags FROM duckdb_databases() WHERE database_name = current_database()").fetchone()
    tags = row[0] if row else {}
    return str(tags.get("storage_version", STORAGE_VERSION)).rstrip("+")  # no tag: a 1.x file, readable


def convert_storage(path: Path) -> None:
    """Rewrite the DuckDB file at ``path`` in the :data:`STORAGE_VERSION` format, atomically.

    Its WAL is folded in first (a checkpoint), every table, view and index is copied into a
    new file beside it, and the new file replaces the old one only once it is complete.
    Raises duckdb.Error or OSError; the original file is left as it was on any failure.
    """
    with duckdb.connect(str(path), config=dict(NO_EXTENSION_DOWNLOADS)) as db:
        db.execute("CHECKPOINT")  # no .wal may outlive the file it belongs to
    target = path.with_name(path.name + ".converting")
    target.unlink(missing_ok=True)
    try:
        with duckdb.connect(":memory:", config=dict(NO_EXTENSION_DOWNLOADS)) as db:
            db.execute(f"ATTACH '{_sql_string(path)}' AS old (READ_ONLY)")
            db.execute(f"ATTACH '{_sql_string(target)}' AS new (STORAGE_VERSION '{STORAGE_VERSION}')")
            db.execute("COPY FROM DATABASE old TO new")
        os.replace(target, path)
    finally:
        target.unlink(missing_ok=True)
        path.with_name(target.name + ".wal").unlink(missing_ok=True)


def _sql_string(path: Path) -> str:
    return str(path).replace("'", "''")


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


# Every DuckDB file carries this magic at byte 8; SQLite files start with their own header.
_DUCKDB_MAGIC = b"DUCK"
_SQLITE_MAGIC = b"SQLite format 3\x00"


def check_duckdb_file(path: Path) -> None:
    """Raise :class:`StoreError` when ``path`` exists, is not empty and is not a DuckDB database.

    Without this, DuckDB answers a SQLite file by trying to load its sqlite extension.
    """
    try:
        with path.open("rb") as f:
            head = f.read(16)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise StoreError(f"cannot open the database {path}: {exc.strerror or exc}") from None
    if not head or head[8:12] == _DUCKDB_MAGIC:
        return
    kind = "a SQLite database" if head.startswith(_SQLITE_MAGIC) else "not a database file"
    raise StoreError(
        f"{path} is not a DuckDB database ({kind}) — pass a DuckDB file that a batch wrote, or a new file name",
        settings=("db",),
    )


def _in_use(path: Path, pid: str | None) -> StoreError:
    who = f"process {pid}" if pid else "another process"
    return StoreError(
        f"the database {path} is in use by {who} — wait for it to finish, or use another file", settings=("db",)
    )


def _open_error(path: Path, exc: Exception) -> StoreError:
    text = str(exc)
    if _is_lock_conflict(exc):
        pid = re.search(r"PID (\d+)", text)
        return _in_use(path, pid.group(1) if pid else None)
    return StoreError(f"cannot open the database {path}: {text.splitlines()[0]}")


def _is_lock_conflict(exc: Exception) -> bool:
    return isinstance(exc, duckdb.IOException) and "lock" in str(exc).lower()


# How long a reader waits for a write in progress, and the writer for readers, before giving up.
READ_WAIT_S = 30.0
WRITE_WAIT_S = 300.0
_Connection = TypeVar("_Connection")


def retry_locked(path: Path, connect: Callable[[], _Connection], wait_s: float) -> _Connection:
    """``connect()``, retried while another process holds the DuckDB file, for up to ``wait_s`` seconds.

    Raises StoreError (the file is in use, or cannot be opened) once the time is up.
    """
    deadline = time.monotonic() + wait_s
    pause = 0.005
    while True:
        try:
            return connect()
        except (duckdb.Error, OSError) as exc:
            if not _is_lock_conflict(exc) or time.monotonic() + pause > deadline:
                raise _open_error(path, exc) from None
        time.sleep(pause)
        pause = min(pause * 2, 0.1)  # a write takes milliseconds: look again soon, never spin


def lock_path(db: Path) -> Path:
    """The sidecar file whose lock makes a process *the* writer of ``db``."""
    return db.with_name(db.name + ".lock")


def _owner_path(db: Path) -> Path:
    return db.with_name(db.name + ".writer")  # the lock holder's pid, for the "in use by" message


def writer_alive(db: Path) -> bool:
    """Whether a process that holds (or held) the writer lock of ``db`` is still running.

    Asked without touching the lock, so a reader never keeps a batch from starting: a writer
    leaves its pid in a sidecar file and removes it when it closes; a killed one cannot.
    """
    try:
        pid = int(_owner_path(db).read_text().strip())
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except (OSError, ValueError):
        return False  # no file, no such process, or not a pid: no writer
    return True


class Store:
    """The one writer of a DuckDB file; use as a context manager.

    Construction takes the writer lock (StoreError naming the holder's pid if another
    process has it), converts a file in a newer storage format, migrates, and marks runs
    left 'running' by a killed writer as 'interrupted'. Each write opens the file, runs one
    transaction and closes it again, so readers get the file between writes.
    """

    def __init__(self, path: Path, *, wait_s: float = WRITE_WAIT_S) -> None:
        self.path, self._wait_s = path, wait_s
        self._cached: dict[str, str] | None = None  # cache key -> latest ok review id, loaded on first use
        check_duckdb_file(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._lock = FileLock(str(lock_path(path)))
            self._lock.acquire(blocking=False)
        except Timeout:
            owner = _owner_path(path)
            raise _in_use(path, owner.read_text().strip() if owner.is_file() else None) from None
        except OSError as exc:
            raise StoreError(f"cannot open the database {path}: {exc.strerror or exc}") from None
        try:
            _owner_path(path).write_text(f"{os.getpid()}\n")
            self._prepare()
        except BaseException:
            self._release()
            raise

    def _prepare(self) -> None:
        with self._connect() as db:
            current = _storage_version(db)
        if current != STORAGE_VERSION:
            try:
                convert_storage(self.path)
            except (duckdb.Error, OSError) as exc:
                raise _open_error(self.path, exc) from None
        self.migrate()
        with self.transaction() as db:
            # The writer lock is ours, so a run still marked 'running' lost its writer: it was killed.
            db.execute("UPDATE runs SET status = 'interrupted' WHERE status = 'running'")

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Fold the WAL into the file (so it is whole for any client) and give up the writer lock."""
        try:
            with self._connect() as db:
                db.execute("CHECKPOINT")
        except StoreError:
            pass  # readers kept the file busy: the WAL stays beside it and every client replays it
        finally:
            self._release()

    def _release(self) -> None:
        _owner_path(self.path).unlink(missing_ok=True)
        self._lock.release()

    def _connect(self) -> duckdb.DuckDBPyConnection:
        def connect() -> duckdb.DuckDBPyConnection:
            db = duckdb.connect(str(self.path), config=dict(WRITE_CONFIG))
            # A checkpoint on every close rewrites the tables' indexes, a cost growing with the store
            # (~0.5 s per review at 20,000 reviews); the WAL is checkpointed when it reaches DuckDB's
            # wal_autocheckpoint (16 MB), and by close().
            db.execute("PRAGMA disable_checkpoint_on_shutdown")
            db.execute("SET enable_progress_bar = false")  # a bulk write would draw one on the terminal
            return db

        return retry_locked(self.path, connect, self._wait_s)

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The file opened for one transaction: committed on success, rolled back on error, then closed.

        Waits for readers holding the file (up to ``wait_s``); raises StoreError after that.
        """
        db = self._connect()
        try:
            db.execute("BEGIN TRANSACTION")
            try:
                yield db
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        finally:
            db.close()

    def migrate(self) -> int:
        """Apply missing migrations in order; return the schema version."""
        with self._connect() as db:
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
        """Record a new run as 'running'; return its id. ``meta``: model_name, model_sha256, backend,
        backend_version, profile, prompt_hash, settings (JSON-able)."""
        run_id = uuid.uuid4().hex
        settings = meta.get("settings")
        row = {
            "run_id": run_id, "kind": kind, "status": "running", "started_at": _now(), "source": source,
            "tool_version": __version__, **{k: meta.get(k) for k in _RUN_META},
            "settings": json.dumps(settings) if settings is not None else None,
        }  # fmt: skip
        with self.transaction() as db:
            db.execute(_insert("runs", row), list(row.values()))
        return run_id

    def planned(self, run_id: str, *, total: int, skipped: int) -> None:
        """Record a running run's plan: ``total`` cases, ``skipped`` of which get no review row in it."""
        with self.transaction() as db:
            db.execute("UPDATE runs SET cases_total = ?, cases_skipped = ? WHERE run_id = ?", [total, skipped, run_id])

    def finish_run(self, run_id: str, status: str, *, total: int, ok: int, failed: int, skipped: int) -> None:
        """Close a run with its status and counts."""
        with self.transaction() as db:
            db.execute(
                "UPDATE runs SET status = ?, finished_at = ?, cases_total = ?, cases_ok = ?, cases_failed = ?, "
                "cases_skipped = ? WHERE run_id = ?",
                [status, _now(), total, ok, failed, skipped, run_id],
            )

    def cached_review(self, cache_key: str) -> str | None:
        """The id of the latest successful review with these exact inputs and settings, if any."""
        if self._cached is None:  # one read for the whole plan, not one opening of the file per case
            with self.transaction() as db:
                rows = db.execute(
                    "SELECT cache_key, review_id FROM reviews WHERE status = 'ok' AND cache_key IS NOT NULL "
                    "ORDER BY created_at"
                ).fetchall()
            self._cached = dict(rows)  # the latest review of a key comes last and wins
        return self._cached.get(cache_key)  # this process is the only writer: save() keeps it current

    def save_calibration(self, run: dict[str, Any], cases: list[dict[str, Any]], matches: list[dict[str, Any]]) -> None:
        """Write one calibration (see evaluator.batch.calibration) and its case and defect rows in one transaction."""
        with self.transaction() as db:
            tables = {"calibration_runs": [run], "calibration_cases": cases, "calibration_matches": matches}
            for table, rows in tables.items():
                if rows:
                    db.executemany(_insert(table, rows[0]), [list(r.values()) for r in rows])

    def save(self, record: ReviewRecord) -> str:
        """Write one review and all its rows in a single transaction; return its id."""
        return self.replace(None, record)

    def replace(self, old_review_id: str | None, record: ReviewRecord) -> str:
        """Write ``record`` in place of review ``old_review_id`` (its rows go); return the new review's id.

        One transaction removes the old review's rows, marks it 'superseded' and writes the new one.
        DuckDB refuses to delete a row that rows deleted in the same transaction referenced, so the
        childless old row is deleted right after: a crash between leaves only a 'superseded' row,
        which no view shows and the next replace removes.
        """
        review_id = uuid.uuid4().hex
        with self.transaction() as db:
            if old_review_id is not None:
                for table in ("findings", "section_feedback", "checklist_items", "requirement_coverage"):
                    db.execute(f"DELETE FROM {table} WHERE review_id = ?", [old_review_id])
                db.execute("UPDATE reviews SET status = 'superseded' WHERE review_id = ?", [old_review_id])
            for doc in (record.design, record.requirements):
                if doc is not None:
                    _save_document(db, doc, record.doc_tokens.get(doc.sha256))
            row = _review_row(review_id, record)
            db.execute(_insert("reviews", row), list(row.values()))
            if record.review is not None:
                _save_children(db, review_id, record.review)
        if old_review_id is not None:
            with self.transaction() as db:
                db.execute("DELETE FROM reviews WHERE status = 'superseded'")
        if self._cached is not None and record.status == "ok" and record.cache_key:
            self._cached[record.cache_key] = review_id
        return review_id

    def stored_review(self, cache_key: str) -> dict[str, Any] | None:
        """The successful review stored under ``cache_key``: its review_id, case_key, created_at,
        found_fields, parse_notes and review (a dict), or None."""
        with self.transaction() as db:
            cursor = db.execute(
                "SELECT review_id, case_key, created_at, found_fields, parse_notes, review_json FROM reviews "
                "WHERE cache_key = ? AND status = 'ok' ORDER BY created_at, review_id LIMIT 1",
                [cache_key],
            )
            row = cursor.fetchone()
            columns = [d[0] for d in cursor.description or []]
        if row is None:
            return None
        stored = dict(zip(columns, row, strict=True))
        stored["review"] = json.loads(stored.pop("review_json") or "null")
        return stored


def _save_document(db: duckdb.DuckDBPyConnection, doc: Document, tokens: int | None) -> None:
    db.execute(
        "INSERT INTO documents (sha256, path, title, size_bytes, tokens, first_seen, source_format, converter) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (sha256) DO NOTHING",
        [doc.sha256, str(doc.path), doc.title, doc.size, tokens, _now(), doc.source_format, doc.converter],
    )


def _save_children(db: duckdb.DuckDBPyConnection, review_id: str, review: Review) -> None:
    if review.findings:
        rows = [_finding_row(review_id, i, f) for i, f in enumerate(review.findings)]
        db.executemany(_insert("findings", rows[0]), [list(r.values()) for r in rows])
    if review.coverage:
        rows = [_coverage_row(review_id, i, c) for i, c in enumerate(review.coverage)]
        db.executemany(_insert("requirement_coverage", rows[0]), [list(r.values()) for r in rows])
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


_RUN_META = ("model_name", "model_sha256", "backend", "backend_version", "profile", "prompt_hash")


def _insert(table: str, row: dict[str, Any]) -> str:
    """An INSERT of ``row``'s columns; table and column names come from code, never from input."""
    return f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)})"


def _finding_row(review_id: str, position: int, f: Finding) -> dict[str, Any]:
    return {
        "review_id": review_id, "position": position, "severity": f.severity, "title": f.title,
        "detail": f.detail, "section": f.section, "evidence": f.evidence, "evidence_found": f.evidence_found,
        "source": f.source, "requirement_id": f.requirement_id, "check_id": f.check_id,
        "line_start": f.line_start, "line_end": f.line_end,
    }  # fmt: skip


def _coverage_row(review_id: str, position: int, c: RequirementCoverage) -> dict[str, Any]:
    first = c.evidence[0] if c.evidence else None
    return {
        "review_id": review_id, "position": position, "requirement_id": c.requirement_id,
        "requirement_text": c.text, "mandatory": c.mandatory, "status": c.status, "score": c.score,
        "evidence": json.dumps([e.model_dump() for e in c.evidence]),
        "line_start": first.line_start if first else None, "line_end": first.line_end if first else None,
    }  # fmt: skip


def _review_row(review_id: str, r: ReviewRecord) -> dict[str, Any]:
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
        "markdown": r.markdown, "created_at": r.created_at or _now(),
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
    if usage:
        columns.update(
            prompt_tokens=usage.prompt_tokens, cached_tokens=usage.cached_tokens,
            completion_tokens=usage.completion_tokens, seconds=usage.seconds, prompt_seconds=usage.prompt_seconds,
        )  # fmt: skip
    return columns


def require_database(path: Path) -> None:
    """Raise StoreError unless ``path`` is an existing database file (readers never create one)."""
    if not path.is_file():
        raise StoreError(f"no database at {path} — run a batch first, or point at another file", settings=("db",))
    check_duckdb_file(path)


@contextmanager
def read_only(path: Path, *, external_access: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection that cannot write ``path``, nor (unless ``external_access``) touch other files.

    Waits for a write in progress (up to :data:`READ_WAIT_S` seconds). Raises StoreError when
    there is no database, or when another process holds it all that time.
    """
    require_database(path)
    config: dict[str, Any] = dict(NO_EXTENSION_DOWNLOADS)
    if not external_access:
        config["enable_external_access"] = False

    def connect() -> duckdb.DuckDBPyConnection:
        db = duckdb.connect(str(path), read_only=True, config=config)
        db.execute("SET enable_progress_bar = false")  # a long query would draw one into piped output
        if not external_access:
            db.execute("SET lock_configuration = true")  # after the line above: nothing can change from here
        return db

    db = retry_locked(path, connect, READ_WAIT_S)  # a batch holds the file for a write at a time
    try:
        yield db
    finally:
        db.close()


_SNAPSHOT: ContextVar[tuple[Path, duckdb.DuckDBPyConnection] | None] = ContextVar("snapshot", default=None)


@contextmanager
def snapshot(path: Path) -> Iterator[None]:
    """Every :func:`query` of ``path`` inside the block reads through one connection: one state of the store.

    A batch may commit between two separate queries; a reader that combines several (the
    report) must not see a case in one and miss it in the next. The writer waits meanwhile.
    """
    with read_only(path) as db:
        token = _SNAPSHOT.set((path, db))
        try:
            yield
        finally:
            _SNAPSHOT.reset(token)


@contextmanager
def _reader(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    held = _SNAPSHOT.get()
    if held is not None and held[0] == path:
        yield held[1]
    else:
        with read_only(path) as db:
            yield db


def query(path: Path, sql: str, params: list[Any] | None = None) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run one read-only statement; writes, ATTACH and extension loading are refused (StoreError)."""
    with _reader(path) as db:
        try:
            cursor = db.execute(sql, params or [])
            columns = [d[0] for d in cursor.description or []]
            return columns, cursor.fetchall()
        except duckdb.Error as exc:
            message = str(exc).splitlines()[0]
            if "read-only" in message or message.startswith("Permission Error") or "has been locked" in message:
                raise StoreError(f"refused: queries only read ({message})") from None
            raise StoreError(f"query failed: {message}") from None


EXPORTED_TABLES = (
    "runs", "documents", "reviews", "findings", "section_feedback", "checklist_items",
    "calibration_runs", "calibration_cases", "calibration_matches",
)  # fmt: skip


def export(db: Path, out_dir: Path, fmt: Literal["parquet", "csv"]) -> list[Path]:
    """Write every table of :data:`EXPORTED_TABLES` to ``out_dir`` as ``TABLE.parquet`` or ``TABLE.csv``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    options = "FORMAT parquet" if fmt == "parquet" else "FORMAT csv, HEADER true"
    with read_only(db, external_access=True) as con:
        for table in EXPORTED_TABLES:
            path = out_dir / f"{table}.{fmt}"
            quoted = str(path).replace("'", "''")
            con.execute(f"COPY (SELECT * FROM {table}) TO '{quoted}' ({options})")
            written.append(path)
    return written
