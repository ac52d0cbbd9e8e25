"""The store opens in the plain DuckDB CLI (1.x), whatever DuckDB Python package wrote it.

The CLI is the real binary shipped in the `duckdb-cli` package of the dev extra, not the
Python module: the point is that another DuckDB build reads the file.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import duckdb
import pytest

from evaluator.store import Store, query
from evaluator.store.files import STORAGE_VERSION
from tests.support.report_helpers import save_review


def cli_binary() -> Path:
    """The duckdb executable inside the duckdb-cli package (its `duckdb` script only wraps it)."""
    try:
        import duckdb_cli  # type: ignore[import-not-found]
    except ImportError:
        pytest.fail("the duckdb-cli package is missing — pip install -e '.[dev]'")
    binary = Path(duckdb_cli.__file__).parent / "duckdb"
    assert binary.read_bytes()[:4] == b"\x7fELF", f"{binary} is not a native executable"
    return binary


def cli(db: Path, sql: str) -> list[dict[str, Any]]:
    """Rows of one read-only query through the DuckDB CLI, as JSON."""
    done = subprocess.run(
        [str(cli_binary()), "-readonly", "-json", str(db), "-c", sql], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout or "[]")


def storage_tag(db: Path) -> str:
    sql = "SELECT tags FROM duckdb_databases() WHERE database_name = current_database()"
    with duckdb.connect(str(db), read_only=True) as con:
        [(tags,)] = con.execute(sql).fetchall()
    return str(tags["storage_version"])


def test_the_cli_is_a_1x_build() -> None:
    version = subprocess.run([str(cli_binary()), "--version"], capture_output=True, text=True, check=True).stdout
    assert version.startswith("v1."), version


def test_a_new_store_opens_in_the_duckdb_cli_with_the_stored_values(tmp_path: Path) -> None:
    db = tmp_path / "e.duckdb"
    save_review(db, "pay/a/tech-design.md", model="m1", scores=(6, 4))
    save_review(db, "pay/b/tech-design.md", model="m2", scores=(9, 7))
    assert storage_tag(db) == f"{STORAGE_VERSION}+"
    sql = "SELECT case_key, completeness_score, technical_soundness_score, model_name FROM latest_reviews ORDER BY 1"
    columns, rows = query(db, sql)
    assert cli(db, sql) == [dict(zip(columns, row, strict=True)) for row in rows]
    assert [r["case_key"] for r in cli(db, sql)] == ["pay/a/tech-design.md", "pay/b/tech-design.md"]


def test_a_store_in_a_newer_format_is_converted_on_open(tmp_path: Path) -> None:
    db = tmp_path / "e.duckdb"
    save_review(db, "pay/a/tech-design.md", model="m1", scores=(6, 4))
    with duckdb.connect(str(tmp_path / "x.duckdb")) as con:  # the same rows, in the package's newest format
        con.execute(f"ATTACH '{db}' AS src (READ_ONLY)")
        con.execute(f"ATTACH '{tmp_path / 'newest.duckdb'}' AS dst (STORAGE_VERSION 'latest')")
        con.execute("COPY FROM DATABASE src TO dst")
    newest = tmp_path / "newest.duckdb"
    before = query(newest, "SELECT * FROM reviews")
    if duckdb.__version__.startswith("2."):
        assert storage_tag(newest) != f"{STORAGE_VERSION}+"  # what the 1.x CLI refuses

    Store(newest).close()  # the writer converts it

    assert storage_tag(newest) == f"{STORAGE_VERSION}+"
    assert query(newest, "SELECT * FROM reviews") == before
    assert cli(newest, "SELECT count(*) AS n FROM findings") == [{"n": 1}]
    left = {p.name for p in tmp_path.iterdir() if p.name.startswith("newest")}
    assert left <= {"newest.duckdb", "newest.duckdb.lock"}  # no half-written copy, no WAL of the old file
    save_review(newest, "pay/b/tech-design.md", model="m2")  # still a working store: migrations, keys, views
    assert cli(newest, "SELECT count(*) AS n FROM latest_reviews") == [{"n": 2}]
