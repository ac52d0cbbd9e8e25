"""Reading the store: a read-only connection between two writes, one query, one snapshot, export.

Readers (``sql``, ``trends``, ``report``, ``status``, ``export``) open the file read-only
between two writes of a batch (:func:`read_only`), waiting and retrying for a moment when
they meet a write in progress; they hold it only for their queries. Reads for ``sql`` go
through a connection that cannot write, attach files or load extensions.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal

import duckdb

from evaluator.errors import OutputError, StoreError
from evaluator.outputs import check_output_folder
from evaluator.store.files import NO_EXTENSION_DOWNLOADS, READ_WAIT_S, check_duckdb_file, retry_locked


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


def tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The store's tables (not its views), by name, as its own catalogue lists them."""
    rows = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'main' "
        "AND NOT internal AND NOT temporary ORDER BY table_name"
    ).fetchall()
    return [name for (name,) in rows]


def export(db: Path, out_dir: Path, fmt: Literal["parquet", "csv"]) -> list[Path]:
    """Write every table of the store to ``out_dir`` as ``TABLE.parquet`` or ``TABLE.csv``; return the paths.

    Raises StoreError (no database) or OutputError (the folder or a file cannot be written).

    The tables come from the store's catalogue, so a table a migration adds is exported
    without anyone keeping a list.
    """
    require_database(db)
    check_output_folder(out_dir, "export folder")
    written = []
    options = "FORMAT parquet" if fmt == "parquet" else "FORMAT csv, HEADER true"
    with read_only(db, external_access=True) as con:
        for table in tables(con):
            path = out_dir / f"{table}.{fmt}"
            quoted = str(path).replace("'", "''")
            name = table.replace('"', '""')
            try:
                con.execute(f"COPY (SELECT * FROM \"{name}\") TO '{quoted}' ({options})")
            except duckdb.IOException as exc:
                raise OutputError(f"cannot write {path}: {str(exc).splitlines()[0]} — check the output path") from None
            written.append(path)
    return written
