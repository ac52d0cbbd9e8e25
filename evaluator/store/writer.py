"""The store's one writer: migrated on open, one short transaction per review (or per batch of them).

A review and all its rows (document, findings, section feedback, checklist, coverage) are
written in one transaction, so a process killed at any moment leaves either the whole review
or none of it. The writer holds the file only while it writes (open, one transaction,
close), so readers (:mod:`.reader`) get it between writes; a bulk writer (ingest) writes a
batch of reviews in one transaction and one opening (:meth:`Store.session`). Being *the*
writer is the lock of :mod:`.files`, held for the writer's whole life.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
from filelock import FileLock, Timeout

from evaluator.errors import StoreError
from evaluator.store.files import (
    STORAGE_VERSION,
    WRITE_CONFIG,
    check_duckdb_file,
    convert_storage,
    in_use_error,
    lock_path,
    open_error,
    owner_path,
    retry_locked,
    storage_version,
)
from evaluator.store.migrations import MIGRATIONS
from evaluator.store.rows import RUN_META, ReviewRecord, insert_sql, review_row, save_children, save_document, utc_now
from evaluator.version import __version__


class Store:
    """The one writer of a DuckDB file; use as a context manager.

    Construction takes the writer lock (StoreError naming the holder's pid if another
    process has it), converts a file in a newer storage format, migrates, and marks runs
    left 'running' by a killed writer as 'interrupted'. Each write opens the file, runs one
    transaction and closes it again, so readers get the file between writes; :meth:`session`
    keeps it open across the transactions of a bulk write.

    When a reader (or any other DuckDB client) holds the file, every opening waits: for
    ``wait_s`` seconds (None: as long as it takes), telling ``on_wait`` every 30 s who holds
    it (see :func:`evaluator.store.files.retry_locked`).
    """

    def __init__(
        self, path: Path, *, wait_s: float | None = None, on_wait: Callable[[str], None] | None = None
    ) -> None:
        self.path, self._wait_s, self._on_wait = path, wait_s, on_wait
        self._held: duckdb.DuckDBPyConnection | None = None  # the connection of a session(), if one is open
        self._cached: dict[str, str] | None = None  # cache key -> latest ok review id, loaded on first use
        check_duckdb_file(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._lock = FileLock(str(lock_path(path)))
            self._lock.acquire(blocking=False)
        except Timeout:
            owner = owner_path(path)
            raise in_use_error(path, owner.read_text().strip() if owner.is_file() else None) from None
        except OSError as exc:
            raise StoreError(f"cannot open the database {path}: {exc.strerror or exc}") from None
        try:
            owner_path(path).write_text(f"{os.getpid()}\n")
            self._prepare()
        except BaseException:
            self._release()
            raise

    def _prepare(self) -> None:
        with self._connect() as db:
            current = storage_version(db)
        if current != STORAGE_VERSION:
            try:
                convert_storage(self.path)
            except (duckdb.Error, OSError) as exc:
                raise open_error(self.path, exc) from None
        self.migrate()
        with self.transaction() as db:
            # The writer lock is ours, so a run still marked 'running' lost its writer: it was killed
            # before it could record its counts, which its stored reviews still give.
            db.execute(
                "UPDATE runs SET status = 'interrupted', "
                "cases_ok = coalesce(cases_ok, (SELECT count(*) FROM reviews v "
                "WHERE v.run_id = runs.run_id AND v.status = 'ok')), "
                "cases_failed = coalesce(cases_failed, (SELECT count(*) FROM reviews v "
                "WHERE v.run_id = runs.run_id AND v.status = 'failed')) "
                "WHERE status = 'running'"
            )

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
        owner_path(self.path).unlink(missing_ok=True)
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

        return retry_locked(self.path, connect, self._wait_s, self._on_wait)

    @contextmanager
    def session(self) -> Iterator[None]:
        """The file held open across every :meth:`transaction` inside the block: one opening for a bulk write.

        Readers wait meanwhile, so a session should last a second or so: a bulk writer opens one
        per batch of results, and readers get the file between batches. Not for use across threads.
        """
        if self._held is not None:
            yield
            return
        self._held = self._connect()
        try:
            yield
        finally:
            held, self._held = self._held, None
            held.close()

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The file opened for one transaction (or a :meth:`session`'s): committed on success, rolled back
        on error, then closed unless a session holds it.

        Waits for readers holding the file (see the class); raises StoreError when it gives up.
        """
        held = self._held
        db = held or self._connect()
        try:
            db.execute("BEGIN TRANSACTION")
            try:
                yield db
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        finally:
            if held is None:
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
                    db.execute("INSERT INTO schema_migrations VALUES (?, ?, ?)", [version, name, utc_now()])
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
            "run_id": run_id, "kind": kind, "status": "running", "started_at": utc_now(), "source": source,
            "tool_version": __version__, **{k: meta.get(k) for k in RUN_META},
            "settings": json.dumps(settings) if settings is not None else None,
        }  # fmt: skip
        with self.transaction() as db:
            db.execute(insert_sql("runs", row), list(row.values()))
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
                [status, utc_now(), total, ok, failed, skipped, run_id],
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
                    db.executemany(insert_sql(table, rows[0]), [list(r.values()) for r in rows])

    def save(self, record: ReviewRecord) -> str:
        """Write one review and all its rows in a single transaction; return its id."""
        return self.replace(None, record)

    def replace(self, old_review_id: str | None, record: ReviewRecord) -> str:
        """Write ``record`` in place of review ``old_review_id`` (its rows go); return the new review's id."""
        return self.write_all([(old_review_id, record)])[0]

    def write_all(self, items: list[tuple[str | None, ReviewRecord]]) -> list[str]:
        """Write each record (in place of the review id beside it, if any) in one transaction; return the new ids.

        Replacing removes the old review's rows and marks it 'superseded' in the same transaction.
        DuckDB refuses to delete a row that rows deleted in the same transaction referenced, so the
        childless old rows are deleted right after: a crash between leaves only 'superseded' rows,
        which no view shows and the next replace removes.
        """
        ids = []
        with self.transaction() as db:
            for old_review_id, record in items:
                ids.append(self._write(db, old_review_id, record))
        if any(old for old, _ in items):
            with self.transaction() as db:
                db.execute("DELETE FROM reviews WHERE status = 'superseded'")
        for review_id, (_, record) in zip(ids, items, strict=True):
            if self._cached is not None and record.status == "ok" and record.cache_key:
                self._cached[record.cache_key] = review_id
        return ids

    def _write(self, db: duckdb.DuckDBPyConnection, old_review_id: str | None, record: ReviewRecord) -> str:
        review_id = uuid.uuid4().hex
        if old_review_id is not None:
            for table in ("finding_waivers", "findings", "section_feedback", "checklist_items", "requirement_coverage"):
                db.execute(f"DELETE FROM {table} WHERE review_id = ?", [old_review_id])
            db.execute("UPDATE reviews SET status = 'superseded' WHERE review_id = ?", [old_review_id])
        for doc in (record.design, record.requirements):
            if doc is not None:
                save_document(db, doc, record.doc_tokens.get(doc.sha256))
        row = review_row(review_id, record)
        db.execute(insert_sql("reviews", row), list(row.values()))
        if record.review is not None:
            save_children(db, review_id, record.review)
        return review_id

    def record_waivers(self, rows: list[dict[str, Any]]) -> int:
        """Record the waivers a gate applied (rows of ``finding_waivers`` by column name), one per
        finding: a finding waived again keeps one row, with the latest waiver's words. Returns the count."""
        if rows:
            columns = [c for c in rows[0] if c not in ("review_id", "position")]
            update = ", ".join(f"{c} = excluded.{c}" for c in columns)
            with self.transaction() as db:
                db.executemany(
                    insert_sql("finding_waivers", rows[0])
                    + f" ON CONFLICT (review_id, position) DO UPDATE SET {update}",
                    [list(r.values()) for r in rows],
                )
        return len(rows)

    def stored_review(self, cache_key: str) -> dict[str, Any] | None:
        """The successful review stored under ``cache_key``: its review_id, case_key, created_at,
        found_fields, parse_notes and review (a dict), or None."""
        return self.stored_reviews([cache_key]).get(cache_key)

    def stored_reviews(self, cache_keys: list[str]) -> dict[str, dict[str, Any]]:
        """:meth:`stored_review` for many keys in one query: cache key -> the first stored review."""
        if not cache_keys:
            return {}
        with self.transaction() as db:
            cursor = db.execute(
                "SELECT cache_key, review_id, case_key, created_at, found_fields, parse_notes, review_json "
                "FROM reviews WHERE cache_key IN (SELECT unnest(?)) AND status = 'ok' "
                "QUALIFY row_number() OVER (PARTITION BY cache_key ORDER BY created_at, review_id) = 1",
                [cache_keys],
            )
            rows = cursor.fetchall()
            columns = [d[0] for d in cursor.description or []]
        stored = {}
        for row in rows:
            found = dict(zip(columns, row, strict=True))
            found["review"] = json.loads(found.pop("review_json") or "null")
            stored[found.pop("cache_key")] = found
        return stored
