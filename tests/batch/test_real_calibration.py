"""Calibration with the embedded model: the session's real batch is a calibration (tests/support/real.py).

The model is weak, so nothing here asserts a good recall: the tests check that every figure
of the report is what the stored rows say, and that `evaluator calibrate` resumes from them.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evaluator.batch.calibration import StoredFinding, StoredReview, assess, report, spearman
from evaluator.batch.labels import labelled_cases
from evaluator.cli.main import app
from tests.support.real import SharedBatch

pytestmark = pytest.mark.model


def _stored_reviews(b: SharedBatch, ids: list[str]) -> dict[str, StoredReview]:
    findings: dict[str, list[StoredFinding]] = {}
    for f in b.rows("SELECT * FROM findings WHERE list_contains(?, review_id) ORDER BY review_id, position", [ids]):
        findings.setdefault(f["review_id"], []).append(
            StoredFinding(f["position"], f["severity"], f["title"], f["detail"], f["evidence"], f["evidence_found"])
        )
    return {
        r["case_key"]: StoredReview(
            r["review_id"],
            r["status"],
            r["completeness_score"],
            r["technical_soundness_score"],
            tuple(findings.get(r["review_id"], [])),
        )
        for r in b.rows("SELECT * FROM reviews WHERE list_contains(?, review_id)", [ids])
    }


def test_the_calibration_report_is_what_the_store_holds(real_batch: SharedBatch) -> None:
    data = report(real_batch.calibration)
    n = len(real_batch.keys)
    assert (data["cases_labelled"], data["cases"], data["model_name"]) == (n, n, "smollm2-135m-instruct")
    assert sorted(c["case_key"] for c in data["cases_detail"]) == real_batch.keys
    labelled = labelled_cases(real_batch.folder)
    defects = sum(len(lc.labels.defects) for lc in labelled)
    assert data["defects"] == defects and 0 <= data["matched"] <= defects

    [row] = real_batch.rows("SELECT * FROM calibration_runs")
    assert {k: row[k] for k in row if k != "created_at"} == {k: data[k] for k in row if k != "created_at"}

    stored = _stored_reviews(real_batch, [c["review_id"] for c in data["cases_detail"]])
    results = [assess(lc, stored[lc.case.key]) for lc in labelled]
    ok = [r for r in results if r.ok]
    assert data["cases_ok"] == len(ok) and data["validity"] == len(ok) / n
    assert data["matched"] == sum(m.matched for r in results for m in r.matches)
    assert data["recall"] == data["matched"] / defects
    assert data["unmatched"] == sum(r.unmatched for r in ok)
    quotes = [f for r in ok for f in r.review.findings if (f.evidence or "").strip()]
    assert data["evidence_quotes"] == len(quotes)
    assert data["evidence_found"] == sum(f.evidence_found is True for f in quotes)
    planted = [float(len(r.matches)) for r in ok]
    assert data["spearman_soundness"] == spearman(planted, [r.review.soundness or 0.0 for r in ok])
    assert set(data["sound_first_by_group"]) == {
        "clinic-appointments/requirements.md",
        "loan-origination/docs/requirements.md",
    }
    matches = real_batch.rows(
        "SELECT count(*) AS n, count(*) FILTER (WHERE matched) AS matched FROM calibration_matches"
    )
    assert matches == [{"n": defects, "matched": data["matched"]}]


def test_cli_calibrate_resumes_from_the_store(real_batch: SharedBatch, tmp_path: Path) -> None:
    """The end-to-end test of `evaluator calibrate`: only a failed case is reviewed again."""
    folder, db = real_batch.folder, tmp_path / "reviews.duckdb"  # the same dataset: the same trend series
    shutil.copy(real_batch.db, db)
    first, n = report(real_batch.calibration), len(real_batch.keys)
    result = CliRunner().invoke(app, ["calibrate", str(folder), "--db", str(db), "--format", "json"])
    assert result.exit_code == 0, result.output
    again = json.loads(result.stdout)
    assert f"{n} cases: {n - first['cases_ok']} to review" in result.stderr
    if first["cases_ok"] == n:  # nothing reviewed again: the same reviews, the same figures
        keys = ("recall", "unmatched", "spearman_soundness", "validity", "matched", "evidence_found")
        assert {k: again[k] for k in keys} == {k: first[k] for k in keys}
        assert [c["review_id"] for c in again["cases_detail"]] == [c["review_id"] for c in first["cases_detail"]]
    points = CliRunner().invoke(
        app, ["sql", "SELECT point FROM calibration_trends ORDER BY point", "--db", str(db), "--format", "json"]
    )
    assert [r["point"] for r in json.loads(points.stdout)] == [1, 2]


def test_the_grounded_review_finds_the_planted_defects_and_spares_the_sound_designs(real_batch: SharedBatch) -> None:
    """With the embedded model the findings come from the analyses, so they can be held to the targets."""
    m = real_batch.calibration.metrics
    assert m.blocking_recall is not None and m.blocking_recall >= 0.85
    assert m.sound_findings["critical"] == 0 and m.sound_max_recommendations <= 2
    assert m.sound_first is True
    assert m.evidence_located_share == 1.0  # every coverage and check finding cites a passage at its lines
