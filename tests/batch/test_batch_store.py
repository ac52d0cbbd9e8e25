from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner

import evaluator.batch as batch_module
from evaluator.backends import MemoryNeeds
from evaluator.backends.fake import FakeBackend, schema_output
from evaluator.batch import BatchOptions, run_batch
from evaluator.batch.cases import discover
from evaluator.cli.main import app
from evaluator.errors import StoreError
from evaluator.reviewer.engine import ReviewSettings
from evaluator.store import Store, query
from evaluator.store.migrations import MIGRATIONS

runner = CliRunner()
TABLES = {"schema_migrations", "runs", "documents", "reviews", "findings", "section_feedback", "checklist_items"}


def _folder(root: Path, designs: int = 3) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "requirements.md").write_text("# Loans\n\nFR-1: accept applications asynchronously.\n")
    for i in range(designs):
        (root / f"d{i}").mkdir(parents=True)
        (root / f"d{i}" / "tech-design.md").write_text(f"# Design {i}\n\n## Data Model\n\nplain text pan_number {i}\n")
    return root


@pytest.fixture
def fake() -> FakeBackend:
    return FakeBackend.answering()


def _rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    return query(db, sql)[1]


def test_fresh_database_has_the_schema_and_migrates_once(tmp_path: Path) -> None:
    db = tmp_path / "e.duckdb"
    Store(db).close()
    Store(db).close()
    names = {r[0] for r in _rows(db, "SELECT table_name FROM information_schema.tables")}
    assert TABLES | {"latest_reviews", "score_trends"} <= names
    assert _rows(db, "SELECT version, name FROM schema_migrations ORDER BY 1") == [
        (i, name) for i, (name, _) in enumerate(MIGRATIONS, 1)
    ]
    columns = {r[0] for r in _rows(db, "SELECT column_name FROM information_schema.columns WHERE table_name='reviews'")}
    assert {"case_key", "cache_key", "completeness_score", "review_json", "markdown", "cached_tokens"} <= columns


def test_an_older_database_is_upgraded_on_open_and_keeps_its_rows(tmp_path: Path) -> None:
    import duckdb

    db = tmp_path / "old.duckdb"
    con = duckdb.connect(str(db))  # a database as version 1 of the tool left it
    con.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR, applied_at TIMESTAMP)")
    con.execute(MIGRATIONS[0][1])
    con.execute("INSERT INTO schema_migrations VALUES (1, 'initial schema', now())")
    con.execute(
        "INSERT INTO reviews (review_id, run_id, case_key, source, status, created_at) "
        "VALUES ('r1', 'x', 'k', 'generated', 'ok', now())"
    )
    con.close()
    Store(db).close()
    assert _rows(db, "SELECT max(version) FROM schema_migrations") == [(len(MIGRATIONS),)]
    assert _rows(db, "SELECT review_id, prompt_seconds FROM reviews") == [("r1", None)]


def test_batch_stores_reviews_and_skips_them_on_rerun(tmp_path: Path, fake: FakeBackend) -> None:
    folder, db = _folder(tmp_path / "cases"), tmp_path / "e.duckdb"
    summary = run_batch(discover(folder), BatchOptions(db=db), backend=fake)
    assert (summary.count("ok"), summary.count("failed"), fake.opened) == (3, 0, 1)  # one model load
    assert _rows(db, "SELECT count(*), count(DISTINCT case_key) FROM reviews WHERE status='ok'") == [(3, 3)]
    assert _rows(db, "SELECT count(*) FROM checklist_items") == [(30,)]
    assert _rows(db, "SELECT count(*) FROM section_feedback") == [(27,)]
    assert _rows(db, "SELECT count(*) FROM documents") == [(4,)]  # 3 designs + 1 shared requirements
    [(review_json, markdown)] = _rows(
        db, "SELECT review_json, markdown FROM latest_reviews WHERE case_key='d0/tech-design.md'"
    )
    assert json.loads(review_json)["schema_version"] == 1 and markdown.startswith("# Technical Design Review: Design 0")
    again = run_batch(discover(folder), BatchOptions(db=db), backend=fake)
    assert (again.count("cached"), fake.opened) == (3, 1)  # nothing to do: the model is not even loaded
    assert {o.review_id for o in again.outcomes} == {o.review_id for o in summary.outcomes}  # the cached rows
    assert _rows(db, "SELECT status, cases_ok, cases_skipped FROM runs ORDER BY started_at") == [
        ("completed", 3, 0),
        ("completed", 0, 3),
    ]


def test_changed_design_is_reviewed_again_and_trends_show_two_points(tmp_path: Path, fake: FakeBackend) -> None:
    folder, db = _folder(tmp_path / "cases"), tmp_path / "e.duckdb"
    run_batch(discover(folder), BatchOptions(db=db), backend=fake)
    (folder / "d1" / "tech-design.md").write_text("# Design 1\n\nrevised: pan_number encrypted\n")
    summary = run_batch(discover(folder), BatchOptions(db=db), backend=fake)
    assert [o.case.key for o in summary.outcomes if o.status == "ok"] == ["d1/tech-design.md"]
    result = runner.invoke(app, ["trends", "--db", str(db), "--format", "json"])
    assert result.exit_code == 0, result.output
    points = {t["key"]: len(t["points"]) for t in json.loads(result.stdout)}
    assert points == {"d0/tech-design.md": 1, "d1/tech-design.md": 2, "d2/tech-design.md": 1}
    table = runner.invoke(app, ["trends", "--db", str(db)]).stdout
    assert "│ d1/tech-design.md │ 2 │ ▁▁ 0 (+0)" in table  # key, points, bars, latest score, change


def test_a_failing_case_is_recorded_and_the_batch_goes_on(tmp_path: Path) -> None:
    folder, db = _folder(tmp_path / "cases"), tmp_path / "e.duckdb"
    (folder / "d1" / "tech-design.md").write_bytes(b"\x00binary")
    fake = FakeBackend(["garbage", "garbage", schema_output])  # d0 fails twice (invalid output), d2 succeeds
    options = BatchOptions(db=db, settings=ReviewSettings(prose=True))  # the full prose pass fails on garbage
    summary = run_batch(discover(folder), options, backend=fake)
    assert {o.case.key: o.status for o in summary.outcomes} == {
        "d0/tech-design.md": "failed",
        "d1/tech-design.md": "failed",
        "d2/tech-design.md": "ok",
    }
    rows = _rows(db, "SELECT case_key, error, raw_output FROM reviews WHERE status='failed' ORDER BY case_key")
    assert "no valid review after 2 attempts" in rows[0][1] and rows[0][2] == "garbage"
    assert "looks binary" in rows[1][1]
    assert _rows(db, "SELECT cases_ok, cases_failed FROM runs") == [(1, 2)]


def test_cli_batch_summary_exit_code_and_missing_requirements(tmp_path: Path, fake: FakeBackend) -> None:
    folder, db = _folder(tmp_path / "cases", 2), tmp_path / "e.duckdb"
    lonely = tmp_path / "elsewhere"
    (lonely / "x").mkdir(parents=True)
    (lonely / "x" / "tech-design.md").write_text("# Lonely\n")
    result = runner.invoke(app, ["batch", str(folder), "--db", str(db), "--backend", "fake"])
    assert result.exit_code == 0, result.output
    assert "2 cases: 2 to review, 0 already done or skipped" in result.stderr
    [(tokens,)] = _rows(db, "SELECT sum(prompt_tokens + completion_tokens) FROM reviews")
    # cases, ok, failed, skipped, and the tokens the stored rows add up to
    assert re.search(rf"│\s+2 │\s+2 │\s+0 │\s+0 │\s+{tokens:,} │", result.stderr), result.stderr
    assert f"results in {db}" in result.stderr.replace("\n", "")
    result = runner.invoke(app, ["batch", str(lonely), "--db", str(db), "--backend", "fake"])
    assert result.exit_code == 0 and "skipped, no requirements.md" in result.stderr


def test_stop_request_finishes_the_current_case_then_resumes(tmp_path: Path, fake: FakeBackend) -> None:
    folder, db = _folder(tmp_path / "cases"), tmp_path / "e.duckdb"
    calls = iter([False, True])
    summary = run_batch(discover(folder), BatchOptions(db=db), backend=fake, should_stop=lambda: next(calls, True))
    assert summary.interrupted and summary.count("ok") == 1
    assert _rows(db, "SELECT status FROM runs") == [("interrupted",)]
    resumed = run_batch(discover(folder), BatchOptions(db=db), backend=fake)
    assert (resumed.count("cached"), resumed.count("ok")) == (1, 2)


def test_limit_reviews_the_first_cases_and_the_next_run_the_rest(tmp_path: Path, fake: FakeBackend) -> None:
    folder, db = _folder(tmp_path / "cases"), tmp_path / "e.duckdb"
    first = run_batch(discover(folder), BatchOptions(db=db, limit=2), backend=fake)
    assert [(o.case.key, o.status) for o in first.outcomes] == [
        ("d0/tech-design.md", "ok"),
        ("d1/tech-design.md", "ok"),
    ]
    assert _rows(db, "SELECT case_key FROM reviews ORDER BY case_key") == [
        ("d0/tech-design.md",),
        ("d1/tech-design.md",),
    ]
    rest = run_batch(discover(folder), BatchOptions(db=db, limit=2), backend=fake)
    assert [(o.case.key, o.status) for o in rest.outcomes if o.status != "cached"] == [("d2/tech-design.md", "ok")]


@pytest.mark.parametrize(
    "statement",
    [
        "DELETE FROM reviews",
        "CREATE TABLE x (a INT)",
        "ATTACH 'other.duckdb' AS o",
        "INSTALL httpfs",
        "LOAD httpfs",
        "SELECT * FROM read_csv('/etc/passwd')",
        "SET enable_external_access = true",
        "COPY reviews TO 'out.csv'",
    ],
)
def test_sql_cannot_write_attach_or_load(tmp_path: Path, statement: str) -> None:
    db = tmp_path / "e.duckdb"
    Store(db).close()
    result = runner.invoke(app, ["sql", statement, "--db", str(db)])
    assert result.exit_code == 2
    assert "refused" in result.stderr or "failed" in result.stderr
    assert "Traceback" not in result.output


def test_sql_formats(tmp_path: Path) -> None:
    db = tmp_path / "e.duckdb"
    Store(db).close()
    sql = "SELECT version, name FROM schema_migrations WHERE version = 1"
    assert json.loads(runner.invoke(app, ["sql", sql, "--db", str(db), "-f", "json"]).stdout) == [
        {"version": 1, "name": "initial schema"}
    ]
    assert runner.invoke(app, ["sql", sql, "--db", str(db), "-f", "csv"]).stdout.splitlines() == [
        "version,name",
        "1,initial schema",
    ]
    assert "no database at" in runner.invoke(app, ["sql", sql, "--db", str(tmp_path / "none.duckdb")]).stderr


def _catalogue(db: Path) -> list[str]:
    """The store's tables as its information schema lists them (not as the exporter asks)."""
    sql = (
        "SELECT table_name FROM information_schema.tables WHERE table_catalog = current_database() "
        "AND table_schema = 'main' AND table_type = 'BASE TABLE' ORDER BY table_name"
    )
    return [name for (name,) in _rows(db, sql)]


def test_export_writes_every_table_of_a_fresh_store(tmp_path: Path) -> None:
    db = tmp_path / "e.duckdb"
    Store(db).close()
    tables = _catalogue(db)
    assert {"runs", "reviews", "findings", "requirement_coverage", "calibration_matches"} <= set(tables)
    result = runner.invoke(app, ["export", str(tmp_path / "out"), "--db", str(db), "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert sorted(p.stem for p in (tmp_path / "out").iterdir()) == tables


def test_export_parquet_and_csv(tmp_path: Path, fake: FakeBackend) -> None:
    folder, db = _folder(tmp_path / "cases", 1), tmp_path / "e.duckdb"
    run_batch(discover(folder), BatchOptions(db=db), backend=fake)
    columns = [
        r[0]
        for r in _rows(
            db,
            "SELECT column_name FROM information_schema.columns WHERE table_name='reviews' ORDER BY ordinal_position",
        )
    ]
    stored = _rows(db, "SELECT review_id, case_key, status, completeness_score FROM reviews ORDER BY review_id")
    for fmt in ("parquet", "csv"):
        result = runner.invoke(app, ["export", str(tmp_path / fmt), "--db", str(db), "--format", fmt])
        assert result.exit_code == 0, result.output
        assert result.stdout.splitlines() == [str(tmp_path / fmt / f"{t}.{fmt}") for t in _catalogue(db)]
        exported = tmp_path / fmt / f"reviews.{fmt}"
        reader = "read_parquet" if fmt == "parquet" else "read_csv_auto"
        con = duckdb.connect()
        file_columns = [d[0] for d in con.execute(f"SELECT * FROM {reader}('{exported}') LIMIT 0").description]
        rows = con.execute(
            f"SELECT review_id, case_key, status, completeness_score FROM {reader}('{exported}') ORDER BY review_id"
        ).fetchall()
        con.close()
        assert file_columns == columns and rows == stored
    assert _rows(db, "SELECT 1")  # the export left the database readable


def test_a_second_writer_gets_a_clear_message(tmp_path: Path) -> None:
    db = tmp_path / "e.duckdb"
    code = (
        "import pathlib, sys, time; from evaluator.store import Store; "
        "s = Store(pathlib.Path(sys.argv[1])); print('open', flush=True); time.sleep(30)"
    )
    with subprocess.Popen([sys.executable, "-c", code, str(db)], stdout=subprocess.PIPE, text=True) as holder:
        try:
            assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
            with pytest.raises(StoreError, match=rf"in use by process {holder.pid} — wait for it to finish"):
                Store(db)
        finally:
            holder.kill()
    time.sleep(0.1)
    Store(db).close()  # usable again once the holder is gone


def test_findings_are_stored_with_their_source_and_evidence_lines(tmp_path: Path) -> None:
    folder = tmp_path / "cases"
    (folder / "d0").mkdir(parents=True)
    (folder / "requirements.md").write_text("# Orders\n\n- Failed events must be retried and must not be lost.\n")
    design = (
        "# Orders\n\n## Consumer\n\nThe consumer polls the `orders.v1` Kafka topic.\n"
        "We chose not to retry: failures are logged.\n"
    )
    (folder / "d0" / "tech-design.md").write_text(design)
    db = tmp_path / "e.duckdb"
    run_batch(discover(folder), BatchOptions(db=db), backend=FakeBackend.answering())
    rows = _rows(db, "SELECT severity, source, check_id, line_start, line_end, evidence, evidence_found FROM findings")
    by_check = {r[2]: r for r in rows}
    severity, source, _, start, end, evidence, found = by_check["consumer-dead-letter"]
    assert (severity, source, found) == ("critical", "check", True)
    assert (start, end) == (6, 6) and "chose not to retry" in evidence  # the passage's lines in the design
    [(status,)] = _rows(db, "SELECT status FROM requirement_coverage")
    assert status in ("covered", "partial", "contradicted")


def test_parallel_batch_reviews_cases_together_and_stores_each(tmp_path: Path) -> None:
    folder, db = _folder(tmp_path / "cases", designs=5), tmp_path / "e.duckdb"
    together = threading.Barrier(3, timeout=10)  # breaks unless three reviews are in flight at once

    def in_threes(messages: list[dict[str, str]], schema: dict[str, Any]) -> str:
        if any(f'"Design {i}"' in messages[-1]["content"] for i in range(3)):  # the first three slots' cases
            together.wait()
        return schema_output(messages, schema)

    opened: list[int] = []

    class Fake(FakeBackend):
        @contextmanager
        def open(self, parallel: int = 1) -> Iterator[FakeBackend]:
            opened.append(parallel)
            yield self

    summary = run_batch(discover(folder), BatchOptions(db=db, parallel=3), backend=Fake([in_threes] * 5))
    assert [o.status for o in summary.outcomes] == ["ok"] * 5
    assert opened == [3]
    assert _rows(db, "SELECT count(*), count(DISTINCT case_key) FROM reviews WHERE status = 'ok'") == [(5, 5)]


def test_a_stop_lets_the_cases_in_flight_finish_and_starts_no_more(tmp_path: Path, fake: FakeBackend) -> None:
    folder, db = _folder(tmp_path / "cases", designs=5), tmp_path / "e.duckdb"
    summary = run_batch(discover(folder), BatchOptions(db=db, parallel=2), backend=fake, should_stop=lambda: True)
    assert summary.interrupted and summary.count("ok") == 1  # the first was submitted before the stop was seen
    assert _rows(db, "SELECT status, cases_ok FROM runs") == [("interrupted", 1)]


def test_auto_parallel_is_capped_by_the_cases_and_said_before_loading(tmp_path: Path) -> None:
    folder, db = _folder(tmp_path / "cases", designs=2), tmp_path / "e.duckdb"
    said: list[str] = []

    class Observer(batch_module.BatchObserver):
        def capacity(self, capacity: Any) -> None:
            said.append(capacity.describe())

    class Sized(FakeBackend):  # a local model's memory, as the llama-cpp factory reports it
        def memory(self) -> MemoryNeeds:
            return MemoryNeeds(model_bytes=100 * 2**20, slot_bytes=200 * 2**20)

    run_batch(discover(folder), BatchOptions(db=db, parallel=None), observer=Observer(), backend=Sized.answering())
    assert said == [
        "parallel 2: KV cache 2 × 200 MiB (8,192 tokens each) + model 100 MiB ≈ 800 MiB of memory"
        + said[0][said[0].index(" of memory") + len(" of memory") :]
    ]


def test_a_converted_document_keeps_its_markdown_and_source_map_and_markdown_does_not(tmp_path: Path) -> None:
    """An older row of the same text (written before the store kept conversions) gets them filled in."""
    import json

    from evaluator.documents.read import parse_document
    from evaluator.documents.sources import SourceMap
    from evaluator.store.rows import save_document

    db = tmp_path / "e.duckdb"
    text = "# Loans\n\nThe ledger keeps entries.\n"
    source_map = SourceMap("design.rst", "line", ((2, 2), None, (5, 5), None))
    converted = parse_document(
        text, Path("design.rst"), source_format="rst", converter="docutils", source_map=source_map
    )
    plain = parse_document("# Plain\n\nText.\n", Path("plain.md"))
    with Store(db) as store, store.transaction() as con:
        con.execute(  # what an older version stored: no text, no map
            "INSERT INTO documents (sha256, path, size_bytes, first_seen, source_format, converter) "
            "VALUES (?, 'design.rst', 1, now(), 'rst', 'docutils')",
            [converted.sha256],
        )
        save_document(con, converted, None)
        save_document(con, plain, None)
    rows = dict(
        (path, (stored, mapped))
        for path, stored, mapped in _rows(db, "SELECT path, converted_text, source_map FROM documents")
    )
    assert rows["plain.md"] == (None, None)
    assert rows["design.rst"][0] == text
    assert SourceMap.from_json(json.loads(rows["design.rst"][1])) == source_map
