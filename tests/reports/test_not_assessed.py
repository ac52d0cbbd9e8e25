"""A review whose requirements state nothing binding has no completeness score (NULL): every
command that shows completeness says so or leaves it empty, and none crashes or prints 'n/a/10'."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evaluator.backends.fake import FakeBackend
from evaluator.batch import BatchOptions
from evaluator.batch.calibration import calibrate
from evaluator.cli.main import app
from evaluator.cli.output import print_calibration
from evaluator.grounding.profiles import load_profile
from evaluator.ingest.parse import parse_review
from evaluator.store import query

runner = CliRunner()
NOTHING_BINDING = "# Background\n\nThe clinic would like fewer phone calls. Patients often call to move a visit.\n"
DESIGN = "# Booking design\n\n## API\n\nPOST /appointments books a slot and returns 201.\n"


def _cases(root: Path) -> Path:
    (root / "svc").mkdir(parents=True)
    (root / "requirements.md").write_text(NOTHING_BINDING)
    (root / "svc" / "tech-design.md").write_text(DESIGN)
    return root


@pytest.fixture
def db(tmp_path: Path) -> Path:
    db = tmp_path / "e.duckdb"
    result = runner.invoke(app, ["batch", str(_cases(tmp_path / "cases")), "--db", str(db), "--backend", "fake"])
    assert result.exit_code == 0, result.output
    assert "completeness not assessed" in result.stderr
    assert query(db, "SELECT status, completeness_score FROM reviews")[1] == [("ok", None)]
    return db


def _ok(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    assert "n/a/10" not in result.output and "None" not in result.stdout
    return result.stdout


def test_status_and_trends_say_not_assessed(db: Path) -> None:
    assert re.search(r"│ svc/tech-design\.md\s*│ ok\s*│[^│]*│ not assessed\s*│", _ok("status", "--db", str(db)))
    assert json.loads(_ok("status", "--db", str(db), "-f", "json"))["recent"][0]["completeness"] is None
    assert re.search(r"│ svc/tech-design\.md\s*│ 1 │\s+not assessed\s*│", _ok("trends", "--db", str(db)))
    for by in ("case", "model"):
        [series] = json.loads(_ok("trends", "--db", str(db), "--by", by, "-f", "json"))
        assert series["points"][0]["completeness"] is None and series["completeness_change"] is None


def test_sql_report_and_gate_leave_it_empty(db: Path, tmp_path: Path) -> None:
    sql = "SELECT case_key, completeness_score FROM reviews"
    assert _ok("sql", sql, "--db", str(db), "-f", "csv") == "case_key,completeness_score\nsvc/tech-design.md,\n"
    assert json.loads(_ok("sql", sql, "--db", str(db), "-f", "json"))[0]["completeness_score"] is None
    _ok("sql", sql, "--db", str(db))
    _ok("report", "--db", str(db), "-o", str(tmp_path / "r.html"))
    html = (tmp_path / "r.html").read_text()
    assert "svc/tech-design.md" in html and "n/a/10" not in html
    assert "not assessed (the requirements state nothing binding to trace)" in html  # the review itself
    gate = runner.invoke(app, ["gate", "--db", str(db), "--min-completeness", "5"])
    assert gate.exit_code == 0 and "completeness not assessed" in gate.stderr and "n/a" not in gate.output


def test_ingesting_a_review_that_says_not_assessed_stores_null_with_a_note(db: Path) -> None:
    [(markdown,)] = query(db, "SELECT markdown FROM reviews")[1]
    assert "**Completeness Score**: not assessed" in markdown
    parsed = parse_review(markdown, load_profile("python-fastapi"))
    assert parsed.review.completeness_score is None and "completeness_score" not in parsed.found
    assert "completeness_score: the review states it was not assessed" in parsed.notes


def test_calibrate_reports_a_case_without_completeness(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dataset = _cases(tmp_path / "ds")
    (dataset / "svc" / "labels.toml").write_text('expected = "sound"\ndefect = []\n')
    result = calibrate(dataset, BatchOptions(db=tmp_path / "c.duckdb"), backend=FakeBackend.answering())
    assert [r.review.completeness for r in result.results] == [None]
    capsys.readouterr()
    print_calibration(result, "table")
    print_calibration(result, "json")
    out = capsys.readouterr().out
    assert "svc/tech-design.md" in out and "n/a" not in out
    assert query(tmp_path / "c.duckdb", "SELECT completeness_score FROM calibration_cases")[1] == [(None,)]
