"""One end-to-end test per command that needs the model, with the real embedded model.

`batch` runs end to end in the session fixture (tests/support/real.py: a process killed with
SIGKILL) and `calibrate` in tests/batch/test_real_calibration.py; here are `review` (the smallest
sample case, every outbound connection refused) and `bench` (two tiny cases, smallest budget).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evaluator.backends.catalogue import resolve_model
from evaluator.backends.llama_cpp import LlamaCppBackend
from evaluator.cli.main import app
from evaluator.documents.read import read_document
from evaluator.grounding.profiles import load_profile
from evaluator.reviewer.engine import Reviewer
from evaluator.reviewer.prompts import Prompts
from tests.cli.test_cli import cost_line
from tests.support.netguard import NetworkGuard, guarded
from tests.support.real import check_format, sample_cases

pytestmark = pytest.mark.model
runner = CliRunner()


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[NetworkGuard]:
    yield from guarded(monkeypatch)


def test_review_of_the_smallest_sample_with_the_network_refused(
    tmp_path: Path, no_network: NetworkGuard, real_model: LlamaCppBackend
) -> None:
    requirements, design = min(sample_cases(), key=lambda c: c[0].stat().st_size + c[1].stat().st_size)
    out = tmp_path / "tech-design-review.md"
    result = runner.invoke(app, ["review", "-r", str(requirements), "-d", str(design), "-o", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    check_format(text)
    prompt, cached, completion = cost_line(result.stderr)
    # A grounded review's one prompt: for the embedded model, the summary pass (a retry sends it again).
    req, des = read_document(requirements), read_document(design)
    messages = Reviewer(real_model, load_profile(), Prompts()).model_messages(req, des)
    assert "You summarise" in messages[0]["content"]
    assert "grounded review: analyses plus 1 model pass" in text.rsplit("<!--", 1)[1]
    one = real_model.count_tokens(messages)
    assert prompt in (one, 2 * one) and cached < one  # a fresh process: at most the retry reuses the prompt
    assert 0 < completion <= (prompt // one) * 120  # two sentences at most


def test_bench_reports_figures_that_agree_with_each_other(tmp_path: Path) -> None:
    (tmp_path / "requirements.md").write_text("# Orders\n\nFR-1: accept orders with 202 Accepted and process them.\n")
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "tech-design.md").write_text(f"# Orders {name}\n\n## API\n\nPOST /v1/orders returns 201.\n")
    args = [
        "bench",
        "--cases",
        str(tmp_path),
        "--runs",
        "1",
        "--gen-tokens",
        "8",
        "--max-cases",
        "2",
        "--parallel",
        "2",
        "--no-naive",
        "--json",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    r = json.loads(result.stdout)
    model = resolve_model(None)
    assert (r["model"], r["model_bytes"], r["n_ctx"], r["cases"], r["parallel"]) == (
        model.name,
        model.path.stat().st_size,
        8192,
        2,
        2,
    )
    assert r["kv_cache_bytes"] == 2 * 180 * 2**20  # two slots of 8,192 tokens, from the GGUF metadata
    assert set(r["raw_prompt_tps"]) == set(r["raw_generation_tps"]) == {"1", "2"}
    assert set(r["raw_batched_tps"]) == {"1", "2", "4", "8"}
    assert 0 < r["shared_prefix_tokens"] < r["prompt_tokens"] and 0 < r["prompt_share"] < 1
    assert r["shared_prefix_cached_share"] >= 0.9  # the second case found the shared prefix cached (target)
    ratios = r["ratios"]
    raw = r["raw_generation_tps"][str(r["threads"])]
    assert ratios["pipeline/raw generation"] == pytest.approx(r["pipeline_generation_tps"] / raw)
    assert ratios["grammar/plain generation"] == pytest.approx(r["grammar_generation_tps"] / r["plain_generation_tps"])
    best = max(r["raw_batched_tps"].values())
    assert ratios["best batched/single-sequence raw generation"] == pytest.approx(best / r["raw_batched_tps"]["1"])
    bound = r["prompt_share"] + (1 - r["prompt_share"]) / ratios["best batched/single-sequence raw generation"]
    assert ratios["same, best possible at the measured batching gain"] == pytest.approx(bound)
    assert r["naive_seconds_per_case"] is None and ratios["batch/naive docs per hour"] is None
    assert r["peak_rss_bytes"] > r["model_bytes"] + r["kv_cache_bytes"]
    assert re.fullmatch(r"smollm2.*", r["model"])
