"""Piped or redirected, the table output of `sql`, `trends` and `calibrate` cuts no value.

CliRunner's stdout is not a terminal, and neither is a subprocess's pipe: both are what a
user who redirects a query to a file gets. Each table is parsed back and compared with the
values in the store.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evaluator.backends.fake import FakeBackend
from evaluator.batch import BatchOptions
from evaluator.batch.calibration import calibrate
from evaluator.cli.main import app
from evaluator.cli.output import print_calibration
from evaluator.reports.trends import trends
from evaluator.store import query
from tests.support.data import ROOT
from tests.support.report_helpers import batch, save_review, write_cases

runner = CliRunner()
LONG = "platform-engineering-with-a-long-team-name/" * 3  # 129 characters of folder: wider than 80 columns


def body(text: str) -> list[list[str]]:
    """The cells of a rich table's body rows (lines framed by │), stripped."""
    return [[cell.strip() for cell in line.strip().strip("│").split("│")] for line in text.splitlines()
            if line.startswith("│")]  # fmt: skip


def header(text: str) -> list[str]:
    """The header cells (the line framed by ┃)."""
    line = next(line for line in text.splitlines() if line.startswith("┃"))
    return [cell.strip() for cell in line.strip().strip("┃").split("┃")]


@pytest.fixture
def store(tmp_path: Path) -> Path:
    db = tmp_path / "e.duckdb"
    save_review(db, f"{LONG}payments/tech-design.md", model="a-model-name-that-is-long-too-q4_k_m", scores=(6, 4))
    save_review(db, f"{LONG}shipping/tech-design.md", model="[red]not markup[/]", title="Design [b]x[/b]")
    return db


SQL = "SELECT case_key, status, model_name, title, completeness_score FROM reviews ORDER BY case_key"


def expected_cells(db: Path) -> list[list[str]]:
    return [[str(v) for v in row] for row in query(db, SQL)[1]]


def test_sql_table_through_a_pipe_keeps_every_value(store: Path) -> None:
    result = runner.invoke(app, ["sql", SQL, "--db", str(store)])
    assert result.exit_code == 0, result.output
    assert header(result.stdout) == ["case_key", "status", "model_name", "title", "completeness_score"]
    assert body(result.stdout) == expected_cells(store)
    assert "…" not in result.stdout


def test_sql_table_redirected_from_a_real_process_keeps_every_value(store: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "evaluator", "sql", SQL, "--db", str(store)],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "40", "PYTHONPATH": str(ROOT)},
    )
    assert body(done.stdout) == expected_cells(store)


def test_trends_through_a_pipe_keep_the_keys_and_scores(tmp_path: Path) -> None:
    folder, db = tmp_path / "cases", tmp_path / "e.duckdb"
    write_cases(folder, {f"{LONG}a": (6, 5), f"{LONG}b": (4, 3)})
    batch(folder, db)
    write_cases(folder, {f"{LONG}b": (7, 6)})
    batch(folder, db)
    for by in ("case", "prompt"):
        result = runner.invoke(app, ["trends", "--db", str(db), "--by", by])
        assert result.exit_code == 0, result.output
        rows = body(result.stdout)
        series = trends(db, by)  # type: ignore[arg-type]
        assert [r[0] for r in rows] == [t.key for t in series]
        assert [int(r[1]) for r in rows] == [len(t.points) for t in series]
        latest = [f"{t.points[-1].completeness:.3g}" for t in series]
        assert [re.search(r"(\S+)( \(\S+\))?$", r[2])[1] for r in rows] == latest  # type: ignore[index]
    assert body(runner.invoke(app, ["trends", "--db", str(db)]).stdout)[1][2].endswith("7 (+3)")


def test_calibration_tables_through_a_pipe_keep_case_names(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dataset = tmp_path / "ds"
    (dataset / LONG / "sound").mkdir(parents=True)
    (dataset / "requirements.md").write_text("# Requirements\n\nFR-1: book appointments.\n")
    (dataset / LONG / "sound" / "tech-design.md").write_text("# Design\n\n## API\n\nPlain.\n")
    (dataset / LONG / "sound" / "labels.toml").write_text('expected = "sound"\ndefect = []\n')
    result = calibrate(dataset, BatchOptions(db=tmp_path / "c.duckdb"), backend=FakeBackend.answering())
    capsys.readouterr()

    print_calibration(result, "table")

    out = capsys.readouterr().out
    cases = [row for row in body(out) if row[0].endswith("tech-design.md")]
    [(completeness, soundness)] = query(
        tmp_path / "c.duckdb", "SELECT completeness_score, technical_soundness_score FROM latest_reviews"
    )[1]
    [(findings,)] = query(tmp_path / "c.duckdb", "SELECT count(*) FROM findings")[1]  # all unmatched: sound
    assert cases == [
        [f"{LONG}sound/tech-design.md", "sound", "ok", f"{completeness:g}", f"{soundness:g}", "0/0", "-", str(findings)]
    ]
    assert ["output validity", "100% (1/1)"] in body(out)


def test_sql_csv_ends_lines_with_lf_only(store: Path) -> None:
    """A shell script reads the count of `sql -f csv` with `read`; a CR would make it '3\\r'."""
    result = runner.invoke(app, ["sql", "SELECT count(*) AS n FROM reviews", "--db", str(store), "-f", "csv"])
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes == b"n\n2\n"  # bytes: click's result.stdout turns CRLF into LF


def test_piped_progress_and_hint_lines_are_never_wrapped(tmp_path: Path) -> None:
    """Redirected to a log, the batch's lines are whole lines: the closing hint is a command to copy."""
    folder, db = tmp_path / "cases", tmp_path / LONG / "e.duckdb"
    write_cases(folder, {f"{LONG}a": (6, 5)})
    result = runner.invoke(app, ["batch", str(folder), "--db", str(db), "--backend", "fake"])
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    assert f'results in {db} — try: evaluator sql "SELECT * FROM latest_reviews" --db {db}' in lines
    assert any(line.startswith(f"✓ {LONG}a/tech-design.md: ") and "soundness" in line for line in lines)
