"""Finished work is never lost to an output path: paths are checked before the model runs (folders
are created, a path under a file is one line), and a write that still fails prints the review."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from evaluator.backends.fake import FakeBackend, schema_output
from evaluator.cli.main import app
from tests.support.data import DATASETS
from tests.support.report_helpers import batch, write_cases

runner = CliRunner()
REQ = DATASETS / "clinic-appointments" / "requirements.md"
DESIGN = DATASETS / "clinic-appointments" / "double-booking" / "tech-design.md"


def _one_line(result: Any, *words: str) -> None:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in result.output, result.output
    assert all(word in lines[0] for word in words), lines[0]


@pytest.fixture
def fake(scripted_backend: Callable[[FakeBackend], str]) -> tuple[FakeBackend, str]:
    backend = FakeBackend.answering()
    return backend, scripted_backend(backend)


def test_review_into_a_missing_folder_creates_it(tmp_path: Path, fake: tuple[FakeBackend, str]) -> None:
    out = tmp_path / "missing" / "deeper" / "review.md"
    result = runner.invoke(app, ["review", "-r", str(REQ), "-d", str(DESIGN), "-o", str(out), "--backend", fake[1]])
    assert result.exit_code == 0, result.output
    assert out.read_text().startswith("# Technical Design Review")


def test_review_into_an_impossible_path_is_refused_before_the_model_runs(
    tmp_path: Path, fake: tuple[FakeBackend, str]
) -> None:
    (tmp_path / "afile").write_text("x")
    out = tmp_path / "afile" / "review.md"
    result = runner.invoke(app, ["review", "-r", str(REQ), "-d", str(DESIGN), "-o", str(out), "--backend", fake[1]])
    _one_line(result, "review file", str(tmp_path / "afile"))
    assert fake[0].calls == []  # no model time spent


def test_a_write_that_fails_after_the_model_ran_prints_the_review(
    tmp_path: Path, scripted_backend: Callable[[FakeBackend], str]
) -> None:
    out = tmp_path / "out" / "review.md"

    def answer(messages: Any, schema: Any) -> str:
        shutil.rmtree(tmp_path / "out")  # the folder goes while the model works...
        (tmp_path / "out").write_text("now a file")  # ...and a file takes its place
        return schema_output(messages, schema)

    name = scripted_backend(FakeBackend([answer]))
    result = runner.invoke(app, ["review", "-r", str(REQ), "-d", str(DESIGN), "-o", str(out), "--backend", name])
    _one_line(result, "cannot write the review file", "printed to standard output instead")
    assert result.stdout.startswith("# Technical Design Review")  # the finished review, not lost


def test_export_to_an_impossible_folder_is_one_line(tmp_path: Path) -> None:
    write_cases(tmp_path / "cases", {"a": (6, 5)})
    batch(tmp_path / "cases", db := tmp_path / "e.duckdb")
    (tmp_path / "afile").write_text("x")
    _one_line(runner.invoke(app, ["export", str(tmp_path / "afile" / "out"), "--db", str(db)]), "export folder")
    (tmp_path / "out" / "reviews.csv").mkdir(parents=True)  # a folder where a table's file goes
    result = runner.invoke(app, ["export", str(tmp_path / "out"), "--db", str(db), "-f", "csv"])
    _one_line(result, "cannot write", "reviews.csv")


def test_report_and_gate_files_under_a_file_are_one_line(tmp_path: Path) -> None:
    write_cases(tmp_path / "cases", {"a": (6, 5)})
    batch(tmp_path / "cases", db := tmp_path / "e.duckdb")
    (tmp_path / "afile").write_text("x")
    _one_line(runner.invoke(app, ["report", "--db", str(db), "-o", str(tmp_path / "afile" / "r.html")]), "report")
    result = runner.invoke(app, ["gate", "--db", str(db), "--junit", str(tmp_path / "afile" / "j.xml")])
    _one_line(result, "gate file")


def test_batch_refuses_gate_files_it_could_not_write_before_reviewing(tmp_path: Path) -> None:
    write_cases(tmp_path / "cases", {"a": (6, 5)})
    (tmp_path / "afile").write_text("x")
    db = tmp_path / "e.duckdb"
    args = ["batch", str(tmp_path / "cases"), "--db", str(db), "--backend", "fake"]
    _one_line(runner.invoke(app, [*args, "--sarif", str(tmp_path / "afile" / "g.sarif")]), "SARIF file")
    assert not db.exists()  # nothing reviewed, nothing written
    result = runner.invoke(app, [*args, "--junit", str(tmp_path / "ci" / "gate.xml")])
    assert result.exit_code == 0 and (tmp_path / "ci" / "gate.xml").is_file()  # its folder is created
