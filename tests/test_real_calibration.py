"""`evaluator calibrate` with the embedded model on three labelled loan designs (≈1 min each).

The model is weak, so nothing here asserts a good recall: the test checks the report's
shape and that every figure in it is what the stored rows say.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from evaluator.calibration import StoredFinding, StoredReview, assess, spearman
from evaluator.cli import app
from evaluator.labels import labelled_cases
from tests.conftest import DATASETS

pytestmark = pytest.mark.model
runner = CliRunner()
SUBSET = ("docs", "sound", "sync-credit-call", "pii-in-clear")  # the sound design and two defective ones


def sql(db: Path, statement: str) -> list[dict[str, Any]]:
    result = runner.invoke(app, ["sql", statement, "--db", str(db), "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _calibrate(folder: Path, db: Path) -> tuple[dict[str, Any], str]:
    result = runner.invoke(app, ["calibrate", str(folder), "--db", str(db), "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout), result.stderr


def _stored_reviews(db: Path, ids: str) -> dict[str, StoredReview]:
    findings: dict[str, list[StoredFinding]] = {}
    for f in sql(db, f"SELECT * FROM findings WHERE review_id IN ({ids}) ORDER BY review_id, position"):
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
        for r in sql(db, f"SELECT * FROM reviews WHERE review_id IN ({ids})")
    }


def test_calibrate_with_the_embedded_model_reports_what_the_store_holds(tmp_path: Path) -> None:
    folder, db = tmp_path / "loans", tmp_path / "calibration.duckdb"
    for name in SUBSET:
        shutil.copytree(DATASETS / "loan-origination" / name, folder / name)
    report, stderr = _calibrate(folder, db)
    assert "3 cases: 3 to review" in stderr
    assert (report["cases_labelled"], report["cases"], report["model_name"]) == (3, 3, "smollm2-135m-instruct")
    assert [c["case_key"] for c in report["cases_detail"]] == [
        "pii-in-clear/tech-design.md",
        "sound/tech-design.md",
        "sync-credit-call/tech-design.md",
    ]
    assert report["defects"] == 6 and 0 <= report["matched"] <= 6

    [row] = sql(db, "SELECT * FROM calibration_runs")
    assert {k: row[k] for k in row if k != "created_at"} == {k: report[k] for k in row if k != "created_at"}

    ids = ", ".join(f"'{c['review_id']}'" for c in report["cases_detail"])
    stored = _stored_reviews(db, ids)
    results = [assess(lc, stored[lc.case.key]) for lc in labelled_cases(folder)]
    ok = [r for r in results if r.ok]
    assert report["cases_ok"] == len(ok) and report["validity"] == len(ok) / 3
    assert report["matched"] == sum(m.matched for r in results for m in r.matches)
    assert report["recall"] == report["matched"] / 6
    assert report["unmatched"] == sum(r.unmatched for r in ok)
    quotes = [f for r in ok for f in r.review.findings if (f.evidence or "").strip()]
    assert report["evidence_quotes"] == len(quotes)
    assert report["evidence_found"] == sum(f.evidence_found is True for f in quotes)
    planted = [float(len(r.matches)) for r in ok]
    assert report["spearman_soundness"] == spearman(planted, [r.review.soundness or 0.0 for r in ok])
    matches = sql(db, "SELECT count(*) AS n, count(*) FILTER (WHERE matched) AS matched FROM calibration_matches")
    assert matches == [{"n": 6, "matched": report["matched"]}]

    again, stderr = _calibrate(folder, db)  # resumes from the store: only a failed case is reviewed again
    assert f"3 cases: {3 - report['cases_ok']} to review" in stderr
    if report["cases_ok"] == 3:
        assert {k: again[k] for k in ("recall", "unmatched", "spearman_soundness", "validity")} == {
            k: report[k] for k in ("recall", "unmatched", "spearman_soundness", "validity")
        }
    assert [r["point"] for r in sql(db, "SELECT point FROM calibration_trends ORDER BY point")] == [1, 2]
