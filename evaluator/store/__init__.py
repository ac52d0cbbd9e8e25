"""The DuckDB store: the file's format and locks (:mod:`.files`), the one writer (:mod:`.writer`),
rows by column name (:mod:`.rows`), readers, queries and export (:mod:`.reader`), and the
numbered, append-only schema migrations (:mod:`.migrations`)."""

from evaluator.store.files import check_duckdb_file, convert_storage, lock_path, writer_alive
from evaluator.store.reader import export, query, read_only, require_database, snapshot
from evaluator.store.rows import ReviewRecord
from evaluator.store.writer import Store

__all__ = [
    "ReviewRecord",
    "Store",
    "check_duckdb_file",
    "convert_storage",
    "export",
    "lock_path",
    "query",
    "read_only",
    "require_database",
    "snapshot",
    "writer_alive",
]
