"""The store's file: its format, and who may open it when.

A DuckDB file is checked before DuckDB opens it (a SQLite file would make DuckDB try to load
an extension), written in a storage format every DuckDB 1.x client reads, and converted to it
when a newer client wrote it. DuckDB lets one process hold a file for writing and then nobody
else, not even a reader: being *the* writer is a lock on a sidecar file (``<db>.lock``, see
:mod:`filelock`), and every opening is retried for a while when another process holds the
file for a moment (:func:`retry_locked`). The writer waits for as long as a reader holds the
file (a notebook, a DuckDB GUI or CLI), saying every 30 s who holds it, unless given a limit.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import duckdb

from evaluator.errors import StoreError

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


def storage_version(db: duckdb.DuckDBPyConnection) -> str:
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


def in_use_error(path: Path, pid: str | None) -> StoreError:
    who = f"process {pid}" if pid else "another process"
    return StoreError(
        f"the database {path} is in use by {who} — wait for it to finish, or use another file", settings=("db",)
    )


def holder(exc: Exception) -> str:
    """Who holds the file, from DuckDB's lock error: 'process 1100 (duckdb)', or 'another process'."""
    match = re.search(r"held in (?P<program>.*?) \(PID (?P<pid>\d+)\)", str(exc))
    if not match:
        return "another process"
    program = re.split(r"[\\/]", match.group("program"))[-1]
    return f"process {match.group('pid')} ({program})" if program else f"process {match.group('pid')}"


def open_error(path: Path, exc: Exception) -> StoreError:
    text = str(exc)
    if _is_lock_conflict(exc):
        pid = re.search(r"PID (\d+)", text)
        return in_use_error(path, pid.group(1) if pid else None)
    return StoreError(f"cannot open the database {path}: {text.splitlines()[0]}")


def _is_lock_conflict(exc: Exception) -> bool:
    return isinstance(exc, duckdb.IOException) and "lock" in str(exc).lower()


# How long a reader waits for a write in progress before giving up (a write takes milliseconds).
READ_WAIT_S = 30.0


# How often a waiting writer says who it is waiting for.
WAIT_REPORT_S = 30.0


READERS_ADVICE = "a DuckDB client of your own should open the store read-only and close it when done"


_Connection = TypeVar("_Connection")


def retry_locked(
    path: Path,
    connect: Callable[[], _Connection],
    wait_s: float | None,
    on_wait: Callable[[str], None] | None = None,
) -> _Connection:
    """``connect()``, retried while another process holds the DuckDB file; ``wait_s`` None: for as long as it takes.

    Every :data:`WAIT_REPORT_S` seconds of waiting, ``on_wait`` is told who holds the file and
    for how long it has waited. The file is taken the moment it is free (looked at 10 times a
    second at most). Raises StoreError when the file cannot be opened, or is still held after
    ``wait_s`` seconds.
    """
    started = time.monotonic()
    report_at = started + WAIT_REPORT_S
    pause = 0.005
    while True:
        try:
            return connect()
        except (duckdb.Error, OSError) as exc:
            if not _is_lock_conflict(exc):
                raise open_error(path, exc) from None
            now = time.monotonic()
            if wait_s is not None and now + pause > started + wait_s:
                raise _still_held(path, exc, wait_s) from None
            if on_wait is not None and now >= report_at:
                on_wait(f"waiting for the database {path}: {holder(exc)} has it open ({_waited(now - started)} so far)")
                report_at += WAIT_REPORT_S
        time.sleep(pause)
        pause = min(pause * 2, 0.1)  # a write takes milliseconds: look again soon, never spin


def _still_held(path: Path, exc: Exception, wait_s: float) -> StoreError:
    return StoreError(
        f"the database {path} was still in use by {holder(exc)} after {_waited(wait_s)} — close that client "
        f"({READERS_ADVICE}), or wait longer",
        settings=("lock_timeout",),
    )


def _waited(seconds: float) -> str:
    seconds = round(seconds)
    return f"{seconds} s" if seconds < 120 else f"{seconds // 60} min {seconds % 60:02d} s"


def lock_path(db: Path) -> Path:
    """The sidecar file whose lock makes a process *the* writer of ``db``."""
    return db.with_name(db.name + ".lock")


def owner_path(db: Path) -> Path:
    return db.with_name(db.name + ".writer")  # the lock holder's pid, for the "in use by" message


def writer_alive(db: Path) -> bool:
    """Whether a process that holds (or held) the writer lock of ``db`` is still running.

    Asked without touching the lock, so a reader never keeps a batch from starting: a writer
    leaves its pid in a sidecar file and removes it when it closes; a killed one cannot.
    """
    try:
        pid = int(owner_path(db).read_text().strip())
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except (OSError, ValueError):
        return False  # no file, no such process, or not a pid: no writer
    return True
