"""The bench report's derived figures (the real-model run is in tests/cli/test_real_cli.py)."""

from __future__ import annotations

import pytest

from evaluator.bench.local import BenchReport


def test_wall_time_bound_is_prompt_share_plus_generation_over_batching_gain() -> None:
    report = BenchReport("m", 1, 8192, 1, 8, 4, raw_batched_tps={1: 20.0, 2: 30.0, 4: 40.0}, prompt_share=0.5)
    assert report.batching_gain == pytest.approx(2.0)
    assert report.wall_time_bound == pytest.approx(0.5 + 0.5 / 2)
    assert BenchReport("m", 1, 8192, 1, 8, 4, raw_batched_tps={1: 20.0}).wall_time_bound is None  # no prompt share
