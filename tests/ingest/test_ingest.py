from __future__ import annotations

import os
import shutil
from pathlib import Path

from typer.testing import CliRunner

from evaluator.cli.main import app
from evaluator.grounding.profiles import load_profile
from evaluator.ingest.reviews import case_key_for
from evaluator.review.render import render_markdown
from evaluator.store import query
from tests.review.test_render import sample_review
from tests.support.data import FIXTURES as TESTS_FIXTURES

runner = CliRunner()
FIXTURES = TESTS_FIXTURES / "reviews"


def _folder(root: Path) -> Path:
    (root / "svc").mkdir(parents=True)
    (root / "svc" / "tech-design-review.md").write_text(render_markdown(sample_review(load_profile())))
    shutil.copy(FIXTURES / "assistant-style.md", root / "assistant-style.md")
    shutil.copy(FIXTURES / "not-a-review-design.md", root / "tech-design.md")
    os.utime(root / "svc" / "tech-design-review.md", (1_700_000_000, 1_700_000_000))  # 2023-11-14
    return root


def _rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    return query(db, sql)[1]


def test_ingesting_a_folder_twice_adds_nothing_the_second_time(tmp_path: Path) -> None:
    folder, db = _folder(tmp_path / "reviews"), tmp_path / "e.duckdb"
    first = runner.invoke(app, ["ingest", str(folder), "--db", str(db)])
    assert first.exit_code == 0, first.output
    assert "ingested 2, already there 0, not reviews 1" in first.stderr
    assert "not a review" in first.stderr
    second = runner.invoke(app, ["ingest", str(folder), "--db", str(db)])
    assert "ingested 0, already there 2, not reviews 1" in second.stderr
    assert _rows(db, "SELECT count(*) FROM reviews") == [(2,)]
    assert _rows(db, "SELECT kind, cases_ok, cases_skipped FROM runs ORDER BY started_at") == [
        ("ingest", 2, 1),
        ("ingest", 0, 3),
    ]


def test_ingested_rows_match_the_review(tmp_path: Path) -> None:
    folder, db = _folder(tmp_path / "reviews"), tmp_path / "e.duckdb"
    runner.invoke(app, ["ingest", str(folder / "svc"), "--db", str(db)])
    [row] = _rows(
        db,
        "SELECT case_key, source, processing_mode, completeness_score, technical_soundness_score, "
        "implementation_readiness, created_at::DATE::VARCHAR, list_contains(found_fields, 'checklist'), source_path "
        "FROM reviews",
    )
    assert row[:8] == ("tech-design.md", "ingested", "ingested", 6.0, 7.5, "Major Changes Required", "2023-11-14", True)
    assert str(row[8]).endswith("svc/tech-design-review.md")
    assert _rows(db, "SELECT severity, title, evidence_found FROM findings ORDER BY position") == [
        ("critical", "Encrypt pan_number", True),
        ("suggestion", "Add ADRs", None),
    ]
    assert _rows(db, "SELECT count(*), count(*) FILTER (checked) FROM checklist_items") == [(10, 5)]
    assert _rows(db, "SELECT count(*) FROM section_feedback") == [(9,)]


def test_missing_fields_are_null_and_recorded_as_not_found(tmp_path: Path) -> None:
    review = tmp_path / "partial-review.md"
    review.write_text("# Technical Design Review: Partial\n\n## Strengths\n- Clear\n\n## Critical Issues\n- No DLQ\n")
    db = tmp_path / "e.duckdb"
    result = runner.invoke(app, ["ingest", str(review), "--db", str(db), "--case-key", "payments"])
    assert result.exit_code == 0, result.output
    [(key, score, assessment, found)] = _rows(
        db, "SELECT case_key, completeness_score, overall_assessment, found_fields FROM reviews"
    )
    assert (key, score, assessment) == ("payments", None, None)
    assert "completeness_score" not in found and "strengths" in found  # type: ignore[operator]


def test_case_keys_meet_the_batch_keys() -> None:
    root = Path("/reviews")
    assert case_key_for(root / "team" / "svc" / "tech-design-review.md", root) == "team/svc/tech-design.md"
    assert case_key_for(root / "billing-design_review.md", root) == "billing-design.md"
    assert case_key_for(Path("/x/notes.md"), None) == "notes.md"


def test_case_key_with_several_files_is_refused(tmp_path: Path) -> None:
    folder = _folder(tmp_path / "reviews")
    result = runner.invoke(app, ["ingest", str(folder), "--db", str(tmp_path / "e.duckdb"), "--case-key", "x"])
    assert (
        result.exit_code == 2
        and "a case key applies to a single review file; give one file or leave it out (see --case-key)"
        in result.stderr
    )
    result = runner.invoke(app, ["ingest", str(tmp_path / "nope.md"), "--db", str(tmp_path / "e.duckdb")])
    assert result.exit_code == 2 and "not found" in result.stderr
