from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evaluator import api
from evaluator.backends.fake import FakeBackend
from evaluator.cli import app
from tests.conftest import DATASETS, valid_output

runner = CliRunner()
REQ = DATASETS / "clinic-appointments" / "requirements.md"
DESIGN = DATASETS / "clinic-appointments" / "double-booking" / "tech-design.md"


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeBackend:
    backend = FakeBackend([valid_output] * 4)
    monkeypatch.setattr(api, "open_backend", lambda options: backend)
    return backend


def test_review_writes_markdown_and_prints_the_cost(tmp_path: Path, fake: FakeBackend) -> None:
    out = tmp_path / "review.md"
    result = runner.invoke(app, ["review", "-r", str(REQ), "-d", str(DESIGN), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text().startswith("# Technical Design Review: MediSlot")
    assert "cost:" in result.stderr and "prompt tokens" in result.stderr and "tok/s" in result.stderr


def test_review_json_goes_to_stdout(fake: FakeBackend) -> None:
    result = runner.invoke(app, ["review", "-r", str(REQ), "-d", str(DESIGN), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["schema_version"] == 1 and data["profile"] == "python-fastapi" and len(data["checklist"]) == 10


def test_invalid_output_keeps_the_raw_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api, "open_backend", lambda options: FakeBackend(["not json"] * 2))
    out = tmp_path / "r.md"
    result = runner.invoke(app, ["review", "-r", str(REQ), "-d", str(DESIGN), "-o", str(out)])
    assert result.exit_code == 3
    assert "no valid review after 2 attempts" in result.stderr and "r.raw.txt" in result.stderr
    assert (tmp_path / "r.raw.txt").read_text() == "not json"
    assert not out.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-r", "missing.md", "-d", str(DESIGN)], "requirements file not found: missing.md"),
        (["-r", str(DATASETS), "-d", str(DESIGN)], "is a directory"),
        (["-r", str(REQ), "-d", str(DESIGN), "--profile", "cobol"], "unknown profile 'cobol'"),
        (["-r", str(REQ), "-d", str(DESIGN), "--model", "gpt-99"], "unknown model 'gpt-99'"),
        (["-r", str(REQ), "-d", str(DESIGN), "--model", str(REQ)], "not a GGUF model file"),
        (["-r", str(REQ), "-d", str(DESIGN), "--max-bytes", "100"], "too large"),
    ],
)
def test_bad_input_gets_one_line_and_exit_2(args: list[str], message: str) -> None:
    result = runner.invoke(app, ["review", *args])
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output and len(result.stderr.strip().splitlines()) == 1


def test_every_command_and_option_has_help() -> None:
    import typer.main

    group = typer.main.get_command(app)
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        assert command.help, name
        for param in command.params:
            assert getattr(param, "help", None), f"{name} {param.name}"


def test_python_dash_m_works() -> None:
    result = subprocess.run([sys.executable, "-m", "evaluator", "--help"], capture_output=True, text=True, check=False)
    assert result.returncode == 0 and "review" in result.stdout


def test_profiles_and_models_listings() -> None:
    assert "python-fastapi\t9 sections, 10 checklist items" in runner.invoke(app, ["profiles"]).stdout
    assert "smollm2-135m-instruct (default)" in runner.invoke(app, ["models"]).stdout


@pytest.mark.parametrize("value", ["0", "many", "-2"])
def test_parallel_must_be_a_positive_number_or_auto(tmp_path: Path, value: str) -> None:
    result = CliRunner().invoke(app, ["batch", str(tmp_path), "--db", str(tmp_path / "e.duckdb"), "--parallel", value])
    assert result.exit_code == 2
    assert "expected a positive number or auto" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "e.duckdb").exists()
