"""The session's real batch (tests/support/real.py): killed, resumed, and what its rows say.

Each test reads the one store the session fixture left; only the last reviews one more case.
"""

from __future__ import annotations

import shutil
import signal
from collections import Counter
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest

from evaluator.backends.base import Opened
from evaluator.backends.catalogue import resolve_model
from evaluator.batch import BatchOptions, run_batch
from evaluator.batch.cases import discover
from evaluator.reports.trends import trends
from evaluator.review.record import ASSESSMENTS, READINESS, Review
from evaluator.reviewer.prompts import Prompts
from evaluator.text import quote_found
from tests.support.real import LONG, SharedBatch, check_format

pytestmark = pytest.mark.model


def test_a_batch_killed_with_sigkill_resumes_without_duplicates(real_batch: SharedBatch) -> None:
    b = real_batch
    assert b.killed_status == -signal.SIGKILL
    n = len(b.keys)
    assert f"{n} cases: {n} to review, 0 already done or skipped" in b.killed_stderr
    committed = b.killed_stderr.count("✓")  # one at a time: the first review, then the kill
    outcomes = Counter(o.status for o in b.calibration.batch.outcomes)
    assert committed <= 1 and outcomes["cached"] == committed and outcomes["ok"] + outcomes["failed"] == n - committed
    per_case = b.rows("SELECT case_key, count(*) AS n FROM reviews WHERE status = 'ok' GROUP BY 1 ORDER BY 1")
    assert all(r["n"] == 1 for r in per_case) and len(per_case) == outcomes["ok"] + outcomes["cached"]
    assert [r["status"] for r in b.rows("SELECT status FROM runs ORDER BY started_at")] == ["interrupted", "completed"]
    orphans = b.rows(
        "SELECT (SELECT count(*) FROM findings WHERE review_id NOT IN (SELECT review_id FROM reviews)) "
        "+ (SELECT count(*) FROM checklist_items WHERE review_id NOT IN (SELECT review_id FROM reviews)) "
        "+ (SELECT count(*) FROM section_feedback WHERE review_id NOT IN (SELECT review_id FROM reviews)) AS n"
    )
    assert orphans == [{"n": 0}]


def test_the_resumed_run_planned_its_parallelism_from_the_model_and_stayed_offline(real_batch: SharedBatch) -> None:
    [capacity] = real_batch.capacity  # said before the reviews: auto, four on two CPUs, capped by the cases left
    todo = sum(o.status != "cached" for o in real_batch.calibration.batch.outcomes)
    assert capacity.parallel == min(4, todo)
    assert capacity.kv_bytes_per_seq == 180 * 2**20  # 30 layers × 3 KV heads × 64 × K,V × f16 × 8,192 tokens
    assert capacity.model_bytes == resolve_model(None).path.stat().st_size
    assert real_batch.network_attempts == [] and real_batch.new_inet_sockets == 0


def test_every_review_of_the_batch_is_in_the_reviewers_format(real_batch: SharedBatch) -> None:
    reviews = real_batch.rows("SELECT case_key, markdown FROM latest_reviews WHERE status = 'ok' ORDER BY case_key")
    assert reviews and {r["case_key"] for r in reviews} <= set(real_batch.keys)
    for r in reviews:
        check_format(r["markdown"])


def test_rows_of_the_real_batch_match_their_reviews(real_batch: SharedBatch, real_model: Any) -> None:
    reviews = real_batch.rows(
        "SELECT r.*, (SELECT count(*) FROM checklist_items c WHERE c.review_id = r.review_id) AS checklist, "
        "(SELECT count(*) FROM section_feedback s WHERE s.review_id = r.review_id) AS sections "
        "FROM latest_reviews r WHERE status = 'ok' ORDER BY r.case_key"
    )
    instructions = real_model.count_tokens([{"role": "system", "content": Prompts().render("brief.md.j2")}])
    for r in reviews:
        review = Review.model_validate_json(r["review_json"])
        assert review.usage and review.processing
        assert (r["completeness_score"], r["technical_soundness_score"]) == (
            review.completeness_score,
            review.technical_soundness_score,
        )
        assert 0 <= r["completeness_score"] <= 10 and 0 <= r["technical_soundness_score"] <= 10
        assert r["overall_assessment"] in ASSESSMENTS and r["implementation_readiness"] in READINESS
        assert (r["checklist"], r["sections"]) == (10, 9)
        usage = review.usage
        assert (r["prompt_tokens"], r["cached_tokens"], r["completion_tokens"]) == (
            usage.prompt_tokens,
            usage.cached_tokens,
            usage.completion_tokens,
        )
        assert r["passes"] == review.processing.passes
        assert r["injection_flags"] == []  # the sample designs hold no planted instructions
        # a small model's one pass is the summary: its instructions and the design's opening, not the whole
        # design (the long one is 25 KB), and two sentences back
        assert instructions <= r["prompt_tokens"] // r["passes"] <= 1024, r["case_key"]
        assert 0 < r["completion_tokens"] <= r["passes"] * 120 and r["cached_tokens"] <= r["prompt_tokens"]


def test_every_design_the_long_one_too_is_grounded_in_one_model_pass(real_batch: SharedBatch) -> None:
    modes = {
        r["case_key"]: (r["processing_mode"], r["passes"] - r["retries"], r["prompt_tokens"])
        for r in real_batch.rows(
            "SELECT case_key, processing_mode, passes, retries, prompt_tokens FROM latest_reviews WHERE status = 'ok'"
        )
    }
    assert LONG in modes, "the 25 KB design must have a review: it cannot fit an 8k context whole"
    for key, (mode, passes, prompt) in modes.items():
        # the prose pass sees the findings and the passages they cite, never the whole design
        assert (mode, passes) == ("grounded", 1), key
        assert prompt < 8192 - 2048, key


def test_findings_of_the_analyses_cite_passages_at_their_lines(real_batch: SharedBatch) -> None:
    rows = real_batch.rows(
        "SELECT f.source, f.evidence, f.evidence_kind, f.line_start, f.line_end, r.case_key FROM findings f "
        "JOIN latest_reviews r USING (review_id) WHERE f.source IN ('coverage', 'check')"
    )
    assert any(f["evidence_kind"] != "absent" for f in rows)
    for f in rows:
        if f["evidence_kind"] == "absent":  # says what is missing: it names no passage and quotes nothing
            assert not f["evidence"], f
            continue
        lines = (real_batch.folder / f["case_key"]).read_text(encoding="utf-8").split("\n")
        assert quote_found(f["evidence"], "\n".join(lines[f["line_start"] - 1 : f["line_end"]])), f


def test_the_run_row_records_the_model_the_backend_reports(real_batch: SharedBatch) -> None:
    [run] = real_batch.rows("SELECT * FROM runs WHERE status = 'completed'")
    model = resolve_model(None)
    assert (run["model_name"], run["model_sha256"]) == (model.name, model.expected_sha256)
    assert (run["backend"], run["backend_version"]) == ("llama-cpp", version("llama-cpp-python"))
    assert '"n_ctx": 8192' in run["settings"] and run["prompt_hash"]


def test_a_changed_design_alone_is_reviewed_again_and_trends_show_two_points(
    real_batch: SharedBatch, real_factory: Opened, tmp_path: Path
) -> None:
    folder, db = tmp_path / "cases", tmp_path / "reviews.duckdb"
    shutil.copytree(real_batch.folder, folder)
    shutil.copy(real_batch.db, db)
    key = "loan-origination/sync-credit-call/tech-design.md"  # the shortest design
    design = folder / key
    design.write_text(design.read_text() + "\n## Changelog\n\n- v1.1: credit checks time out after 2 s.\n")
    summary = run_batch(discover(folder), BatchOptions(db=db, parallel=None), backend=real_factory)
    reviewed = [o.case.key for o in summary.outcomes if o.status in ("ok", "failed")]
    previously_ok = {o.case.key for o in real_batch.calibration.batch.outcomes if o.status in ("ok", "cached")}
    assert key in reviewed and set(reviewed) - {key} == set(real_batch.keys) - previously_ok
    now_ok = next(o.status == "ok" for o in summary.outcomes if o.case.key == key)
    points = {t.key: len(t.points) for t in trends(db)}
    assert points.get(key, 0) == (key in previously_ok) + now_ok  # two points when both reviews succeeded
