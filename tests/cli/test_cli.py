from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evaluator.backends.fake import FakeBackend, schema_output
from evaluator.cli.main import app
from tests.support.data import DATASETS

runner = CliRunner()
REQ = DATASETS / "clinic-appointments" / "requirements.md"
DESIGN = DATASETS / "clinic-appointments" / "double-booking" / "tech-design.md"


COST = re.compile(  # any run of whitespace where the console may wrap the line
    r"cost:\s+([\d,]+)\s+prompt\s+tokens\s+\(([\d,]+)\s+from\s+cache\)\s+·\s+([\d,]+)\s+completion\s+tokens"
)


def cost_line(stderr: str) -> tuple[int, int, int]:
    """Prompt, cached and completion tokens of the `cost:` line the review command prints."""
    match = COST.search(stderr)
    assert match, stderr
    return int(match[1].replace(",", "")), int(match[2].replace(",", "")), int(match[3].replace(",", ""))


@pytest.fixture
def fake(scripted_backend: Callable[[FakeBackend], str]) -> tuple[FakeBackend, str]:
    backend = FakeBackend.answering()
    return backend, scripted_backend(backend)


def test_review_writes_markdown_and_prints_the_cost(tmp_path: Path, fake: tuple[FakeBackend, str]) -> None:
    backend, name = fake
    out = tmp_path / "review.md"
    result = runner.invoke(app, ["review", "-r", str(REQ), "-d", str(DESIGN), "-o", str(out), "--backend", name])
    assert result.exit_code == 0, result.output
    assert out.read_text().startswith("# Technical Design Review: MediSlot")
    assert result.stdout == "" and f"review written to {out}" in result.stderr.replace("\n", "")
    [call] = backend.calls  # a short design: one pass
    completion = len(schema_output(call.messages, call.schema)) // 4
    assert cost_line(result.stderr) == (backend.count_tokens(call.messages), 0, completion)
    assert "grounded review: analyses plus 1 model pass" in result.stderr


def test_review_json_goes_to_stdout_with_the_cost_it_prints(fake: tuple[FakeBackend, str]) -> None:
    result = runner.invoke(app, ["review", "-r", str(REQ), "-d", str(DESIGN), "--json", "--backend", fake[1]])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["schema_version"] == 1 and data["profile"] == "python-fastapi" and len(data["checklist"]) == 10
    usage = data["usage"]
    assert cost_line(result.stderr) == (usage["prompt_tokens"], usage["cached_tokens"], usage["completion_tokens"])


def test_the_registered_fake_backend_reviews_without_a_model(tmp_path: Path) -> None:
    result = runner.invoke(app, ["review", "-r", str(REQ), "-d", str(DESIGN), "--backend", "fake", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["model"] == "fake"


def test_invalid_output_keeps_the_raw_text(tmp_path: Path, scripted_backend: Callable[[FakeBackend], str]) -> None:
    name = scripted_backend(FakeBackend(["not json"] * 2))
    out = tmp_path / "r.md"
    args = ["review", "-r", str(REQ), "-d", str(DESIGN), "-o", str(out), "--backend", name, "--prose", "full"]
    result = runner.invoke(app, args)  # the full prose pass fails the review; a small model's summary would not
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
        (["-r", str(REQ), "-d", str(DESIGN), "--max-bytes", "100"], "raise the limit (see --max-bytes)"),
        (
            ["-r", str(REQ), "-d", str(DESIGN), "--backend", "gpt"],
            "unknown backend 'gpt' — use one of: fake, llama-cpp",
        ),
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
