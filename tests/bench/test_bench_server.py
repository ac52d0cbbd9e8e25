"""``bench --endpoint``'s measurement, driven by the fake backend (the figures are counts, not times)."""

from __future__ import annotations

import pytest

from evaluator.backends.fake import FakeBackend
from evaluator.bench.server import run_server_bench
from evaluator.documents.read import Document
from evaluator.errors import ContextError
from evaluator.grounding.profiles import Profile
from evaluator.reviewer import ReviewSettings, ReviewSetup
from tests.support.data import doc


def test_the_server_alone_and_the_pipeline_send_the_same_prompts(
    profile: Profile, requirements: Document, design: Document
) -> None:
    backend = FakeBackend.answering()
    too_long = doc("# Huge\n\n" + "word " * 40_000, "huge.md")
    report = run_server_bench(
        backend,
        [(requirements, design), (requirements, too_long)],
        setup=ReviewSetup(profile, ReviewSettings(max_tokens=2048, prose=True)),  # the pass the server bench times
        progress=lambda _message: None,
        concurrencies=(1, 2),
    )
    assert report.cases == 2  # a grounded review's prompt fits whatever the design's length
    assert set(report.server_tps) == {1, 2} and report.best_concurrency in (1, 2)
    prompts_sent = {c.messages[-1]["content"] for c in backend.calls}
    assert len(prompts_sent) == 2  # warm-up, both concurrencies and the pipeline: the two cases' prose prompts
    # warm-up 2 + concurrency 1: 2 + concurrency 2: 4 + the pipeline at the best: 2 or 4 (two rounds each)
    assert len(backend.calls) == 2 + 2 + 4 + 2 * report.best_concurrency
    assert report.ratio is not None and report.ratio > 0 and report.pipeline_failures == 0


def test_no_case_that_fits_one_pass_is_a_one_line_error(profile: Profile) -> None:
    backend = FakeBackend.answering(n_ctx=600)
    with pytest.raises(ContextError, match="no case fits one review pass in a 600-token context"):
        run_server_bench(
            backend,
            [(doc("# R\n\nFR-1.\n", "requirements.md"), doc("# D\n\n" + "x " * 3000))],
            setup=ReviewSetup(profile, ReviewSettings(max_tokens=512)),
            progress=lambda _message: None,
        )
