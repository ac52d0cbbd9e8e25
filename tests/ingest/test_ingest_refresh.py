"""Ingest (issue 17): case keys unique within one ingest, found_fields matching the stored rows,
NULL keys for checklist lines and sections beyond the profile, and `ingest --reparse`."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from evaluator.cli.main import app
from evaluator.ingest.parse import ParsedReview
from evaluator.ingest.reviews import case_keys, ingest
from evaluator.review.record import ChecklistEntry
from evaluator.store import query
from tests.support.data import FIXTURES as TESTS_FIXTURES

runner = CliRunner()
FIXTURES = TESTS_FIXTURES / "reviews"
REVIEW_FIXTURES = sorted(p for p in FIXTURES.rglob("*.md") if p.name != "not-a-review-design.md")
CHILD_ROWS = {"findings": "findings", "sections": "section_feedback", "checklist": "checklist_items"}


def _rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    return query(db, sql)[1]


# --- case keys -----------------------------------------------------------------------------


def test_two_files_of_the_same_name_in_two_folders_get_two_cases(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "two-projects", tmp_path / "two-projects")
    alpha, beta = (tmp_path / "two-projects" / name / "tech-design-review.md" for name in ("alpha", "beta"))
    db = tmp_path / "e.duckdb"
    result = runner.invoke(app, ["ingest", str(alpha), str(beta), "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert _rows(db, "SELECT case_key, completeness_score FROM reviews ORDER BY case_key") == [
        ("alpha/tech-design.md", 4.0),
        ("beta/tech-design.md", 9.0),
    ]


def test_case_keys_are_relative_to_the_common_parent() -> None:
    root = Path("/r")
    files = [
        (root / "a" / "tech-design-review.md", None),
        (root / "b" / "x" / "tech-design-review.md", None),
    ]
    assert case_keys(files) == ["a/tech-design.md", "b/x/tech-design.md"]
    assert case_keys([(root / "a" / "svc-review.md", None)]) == ["svc.md"]
    # a folder argument keeps the keys a batch over that folder gives
    assert case_keys([(root / "team" / "svc" / "tech-design-review.md", root)]) == ["team/svc/tech-design.md"]
    two_folders = [
        (root / "t1" / "svc" / "d-review.md", root / "t1"),
        (root / "t2" / "svc" / "d-review.md", root / "t2"),
    ]
    assert case_keys(two_folders) == ["t1/svc/d.md", "t2/svc/d.md"]


def test_case_keys_never_collide_after_removing_review() -> None:
    root = Path("/r")
    files = [(root / "api-review.md", root), (root / "api_review.md", root), (root / "api.md", root)]
    keys = case_keys(files)
    assert len(set(keys)) == 3
    assert keys == ["api-review.md", "api_review.md", "api.md"]


def test_case_key_option_still_overrides(tmp_path: Path) -> None:
    db = tmp_path / "e.duckdb"
    review = FIXTURES / "two-projects" / "alpha" / "tech-design-review.md"
    result = runner.invoke(app, ["ingest", str(review), "--db", str(db), "--case-key", "payments/alpha.md"])
    assert result.exit_code == 0, result.output
    assert _rows(db, "SELECT case_key FROM reviews") == [("payments/alpha.md",)]


# --- rows ----------------------------------------------------------------------------------


def test_found_fields_match_the_stored_rows_for_every_fixture(tmp_path: Path) -> None:
    db = tmp_path / "e.duckdb"
    results = ingest([FIXTURES], db)
    assert {r.status for r in results if r.path.name != "not-a-review-design.md"} == {"ok"}
    for field, table in CHILD_ROWS.items():
        mismatched = _rows(
            db,
            f"SELECT r.source_path, list_contains(r.found_fields, '{field}') AS listed, count(t.review_id) AS n "
            f"FROM reviews r LEFT JOIN {table} t USING (review_id) GROUP BY ALL HAVING listed <> (n > 0)",
        )
        assert mismatched == [], field
    assert len(_rows(db, "SELECT * FROM reviews")) == len(REVIEW_FIXTURES)


def test_checklist_and_sections_beyond_the_profile_are_stored_with_null_keys(tmp_path: Path) -> None:
    db = tmp_path / "e.duckdb"
    ingest([FIXTURES / "checklist-fifteen.md", FIXTURES / "sections-numbered.md"], db)
    assert _rows(db, "SELECT count(*), count(key), count(*) FILTER (NOT checked) FROM checklist_items") == [(15, 10, 1)]
    assert _rows(db, "SELECT count(*), count(key) FROM section_feedback") == [(10, 6)]
    assert _rows(db, "SELECT text FROM checklist_items WHERE position = 1") == [("Glossary of parcel states agreed",)]


def test_parse_notes_are_stored(tmp_path: Path) -> None:
    db = tmp_path / "e.duckdb"
    ingest([FIXTURES / "revised-summary.md"], db)
    [(score, notes)] = _rows(db, "SELECT completeness_score, parse_notes FROM reviews")
    assert score == 8.0
    assert any(str(n).startswith("completeness_score: 2 values") for n in notes)  # type: ignore[union-attr]


def test_an_older_store_gets_nullable_keys(tmp_path: Path) -> None:
    from evaluator.store import Store
    from evaluator.store.migrations import MIGRATIONS

    db = tmp_path / "old.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR, applied_at TIMESTAMP)")
        before = next(i for i, (name, _) in enumerate(MIGRATIONS) if name.startswith("ingested rows beyond"))
        for version, (name, sql) in enumerate(MIGRATIONS[:before], 1):
            con.execute(sql)
            con.execute("INSERT INTO schema_migrations VALUES (?, ?, now())", [version, name])
    with Store(db):
        pass
    nullable = _rows(
        db,
        "SELECT table_name, is_nullable FROM information_schema.columns "
        "WHERE column_name = 'key' AND table_name IN ('checklist_items', 'section_feedback') ORDER BY table_name",
    )
    assert nullable == [("checklist_items", "YES"), ("section_feedback", "YES")]


# --- reparse -------------------------------------------------------------------------------


def _old_parse(parsed: ParsedReview) -> ParsedReview:
    """What the parser before issue 17 stored: profile checklist items only, everything found."""
    review = parsed.review.model_copy(
        update={"checklist": [ChecklistEntry(key="data_model", text="Data model specified", checked=True)]}
    )
    return ParsedReview(review=review, found=[*parsed.found, "sections"], extra_sections={}, notes=[])


def test_reparse_replaces_rows_whose_parse_changed_without_duplicates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, db = tmp_path / "reviews", tmp_path / "e.duckdb"
    folder.mkdir()
    for name in ("checklist-fifteen.md", "none-critical.md"):
        shutil.copy(FIXTURES / name, folder / name)
    import evaluator.ingest.reviews as ingest_module

    real = ingest_module.parse_review
    monkeypatch.setattr(
        ingest_module,
        "parse_review",
        lambda text, profile: _old_parse(real(text, profile)) if "Parcel" in text else real(text, profile),
    )
    ingest([folder], db)
    monkeypatch.setattr(ingest_module, "parse_review", real)
    [(created,)] = _rows(db, "SELECT created_at FROM reviews WHERE title = 'Parcel Tracking'")
    assert _rows(db, "SELECT count(*) FROM checklist_items") == [(1,)]

    plain = runner.invoke(app, ["ingest", str(folder), "--db", str(db)])
    assert "ingested 0, already there 2" in plain.stderr
    result = runner.invoke(app, ["ingest", str(folder), "--db", str(db), "--reparse"])
    assert result.exit_code == 0, result.output
    assert "reparsed 1, already there 1" in result.stderr
    assert _rows(db, "SELECT count(*) FROM reviews") == [(2,)]
    # the review keeps its place in the case's series; the old rows are gone, not hidden
    assert _rows(db, "SELECT created_at, status FROM reviews WHERE title = 'Parcel Tracking'") == [(created, "ok")]
    assert _rows(db, "SELECT count(*), count(key) FROM checklist_items") == [(15, 10)]
    [(found,)] = _rows(db, "SELECT found_fields FROM reviews WHERE title = 'Parcel Tracking'")
    assert "sections" not in found  # type: ignore[operator]
    again = runner.invoke(app, ["ingest", str(folder), "--db", str(db), "--reparse"])
    assert "reparsed 0, already there 2" in again.stderr


def test_reparse_moves_a_review_to_its_new_case_key(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "two-projects", tmp_path / "p")
    files = [tmp_path / "p" / name / "tech-design-review.md" for name in ("alpha", "beta")]
    db = tmp_path / "e.duckdb"
    for path in files:  # the old behaviour: each file filed by its name alone
        ingest([path], db)
    assert _rows(db, "SELECT DISTINCT case_key FROM reviews") == [("tech-design.md",)]
    results = ingest(files, db, reparse=True)
    assert [r.status for r in results] == ["reparsed", "reparsed"]
    assert _rows(db, "SELECT case_key FROM reviews ORDER BY case_key") == [
        ("alpha/tech-design.md",),
        ("beta/tech-design.md",),
    ]


def test_identity_is_the_file_content(tmp_path: Path) -> None:
    db = tmp_path / "e.duckdb"
    source = FIXTURES / "none-critical.md"
    copy = tmp_path / "elsewhere" / "renamed.md"
    copy.parent.mkdir()
    shutil.copy(source, copy)
    ingest([source], db)
    assert [r.status for r in ingest([copy], db, reparse=True)] == ["reparsed"]
    expected = hashlib.sha256(f"ingested\0python-fastapi\0{hashlib.sha256(source.read_bytes()).hexdigest()}".encode())
    assert _rows(db, "SELECT cache_key, case_key FROM reviews") == [(expected.hexdigest(), "renamed.md")]
