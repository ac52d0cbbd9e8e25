"""`evaluator bench` runs and reports sane numbers on a tiny budget (real model; not a timing test)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evaluator.bench import BenchReport
from evaluator.cli import app


def test_wall_time_bound_is_prompt_share_plus_generation_over_batching_gain() -> None:
    report = BenchReport("m", 1, 8192, 1, 8, 4, raw_batched_tps={1: 20.0, 2: 30.0, 4: 40.0}, prompt_share=0.5)
    assert report.batching_gain == pytest.approx(2.0)
    assert report.wall_time_bound == pytest.approx(0.5 + 0.5 / 2)
    assert BenchReport("m", 1, 8192, 1, 8, 4, raw_batched_tps={1: 20.0}).wall_time_bound is None  # no prompt share


@pytest.mark.model
def test_bench_reports_sane_figures(tmp_path: Path) -> None:
    (tmp_path / "requirements.md").write_text(
        "# Orders\n\nFR-1: accept orders with 202 Accepted and process them via Kafka.\n"
    )
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
        "16",
        "--max-cases",
        "2",
        "--parallel",
        "2",
    ]
    args.append("--json")
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert set(report["raw_generation_tps"]) == {"1", "2"}
    assert all(v > 0 for v in [*report["raw_prompt_tps"].values(), *report["raw_generation_tps"].values()])
    assert set(report["raw_batched_tps"]) == {"1", "2", "4", "8"} and all(
        v > 0 for v in report["raw_batched_tps"].values()
    )
    assert report["pipeline_generation_tps"] > 0 and report["grammar_generation_tps"] > 0
    assert report["full_check_generation_tps"] > 0 and report["plain_generation_tps"] > 0
    assert report["parallel"] == 2 and report["batched_seconds_per_case"] > 0 and report["batched_completion_tps"] > 0
    assert 0 < report["prompt_share"] < 1
    assert 0 < report["shared_prefix_tokens"] < report["prompt_tokens"]
    assert 0 < report["shared_prefix_cached_share"] <= 1
    assert report["naive_seconds_per_case"] > 0
    assert report["peak_rss_bytes"] > report["model_bytes"] > 0 and report["kv_cache_bytes"] > 0
    assert all(v is not None and v > 0 for v in report["ratios"].values())
