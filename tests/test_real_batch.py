"""A real batch with the embedded model: killed with SIGKILL mid-run, resumed, re-run.

The tests share one folder and database and run in file order (each builds on the last).
"""

from __future__ import annotations

import json
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from evaluator.cli import app
from evaluator.review import ASSESSMENTS, READINESS
from tests.conftest import DATASETS

pytestmark = pytest.mark.model
runner = CliRunner()
GROUP = DATASETS / "clinic-appointments"
NAMES = (
    "double-booking",
    "no-auth-no-monitoring",
    "sound",
    "sync-reminders",
)  # four of its designs, one requirements.md


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("real-batch")
    (root / "designs").mkdir()
    shutil.copy(GROUP / "requirements.md", root / "designs")
    for name in NAMES:
        shutil.copytree(GROUP / name, root / "designs" / name)
    return root / "designs", root / "reviews.duckdb"


def sql(db: Path, statement: str) -> list[dict[str, Any]]:
    result = runner.invoke(app, ["sql", statement, "--db", str(db), "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _lines(stream: Any, out: queue.Queue[str]) -> None:
    for line in stream:
        out.put(line)


def test_batch_killed_with_sigkill_mid_run_resumes_without_duplicates(workspace: tuple[Path, Path]) -> None:
    folder, db = workspace
    command = [sys.executable, "-m", "evaluator", "batch", str(folder), "--db", str(db)]
    with subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True) as proc:
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=_lines, args=(proc.stderr, lines), daemon=True).start()
        seen = []
        while not any(line.startswith("✓") for line in seen):  # first review committed...
            seen.append(lines.get(timeout=900))
        proc.send_signal(signal.SIGKILL)  # ...and the others are being generated
        assert proc.wait() == -signal.SIGKILL
    assert "4 cases: 4 to review" in "".join(seen) and "parallel 4:" in "".join(seen)  # auto: all four together

    result = runner.invoke(app, ["batch", str(folder), "--db", str(db)])
    assert result.exit_code == 0, result.output
    todo, done = map(int, re.search(r"4 cases: (\d) to review, (\d) already done", result.stderr).groups())  # type: ignore[union-attr]
    assert done >= 1 and todo + done == 4  # two may have finished in the same instant before the kill

    per_case = sql(db, "SELECT case_key, count(*) AS n FROM reviews WHERE status = 'ok' GROUP BY 1 ORDER BY 1")
    assert [(r["case_key"], r["n"]) for r in per_case] == [(f"{name}/tech-design.md", 1) for name in NAMES]
    assert sql(db, "SELECT status FROM runs ORDER BY started_at") == [
        {"status": "interrupted"},
        {"status": "completed"},
    ]
    orphans = sql(
        db,
        "SELECT (SELECT count(*) FROM findings WHERE review_id NOT IN (SELECT review_id FROM reviews)) "
        "+ (SELECT count(*) FROM checklist_items WHERE review_id NOT IN (SELECT review_id FROM reviews)) "
        "+ (SELECT count(*) FROM section_feedback WHERE review_id NOT IN (SELECT review_id FROM reviews)) AS n",
    )
    assert orphans == [{"n": 0}]


def test_rows_of_the_real_batch_through_sql(workspace: tuple[Path, Path]) -> None:
    _, db = workspace
    reviews = sql(
        db,
        "SELECT r.case_key, r.completeness_score, r.technical_soundness_score, r.overall_assessment, "
        "r.implementation_readiness, r.prompt_tokens, r.cached_tokens, r.completion_tokens, r.markdown, "
        "(SELECT count(*) FROM checklist_items c WHERE c.review_id = r.review_id) AS checklist, "
        "(SELECT count(*) FROM section_feedback s WHERE s.review_id = r.review_id) AS sections "
        "FROM latest_reviews r ORDER BY r.case_key",
    )
    assert len(reviews) == 4
    for r in reviews:
        assert 0 <= r["completeness_score"] <= 10 and 0 <= r["technical_soundness_score"] <= 10
        assert r["overall_assessment"] in ASSESSMENTS and r["implementation_readiness"] in READINESS
        assert (r["checklist"], r["sections"]) == (10, 9)
        assert r["completion_tokens"] > 0 and r["markdown"].startswith("# Technical Design Review: ")
    # designs sharing requirements ran back to back: later ones reuse the instructions + requirements prefix
    assert max(r["cached_tokens"] for r in reviews) > 1000
    [run] = sql(
        db, "SELECT model_name, model_sha256, profile, prompt_hash, settings FROM runs WHERE status = 'completed'"
    )
    assert run["model_name"] == "smollm2-135m-instruct" and len(run["model_sha256"]) == 64 and run["prompt_hash"]


def test_a_changed_design_alone_is_reviewed_again_and_trends_show_two_points(workspace: tuple[Path, Path]) -> None:
    folder, db = workspace
    design = folder / "sound" / "tech-design.md"
    design.write_text(design.read_text() + "\n## Changelog\n\n- v1.1: audit log retention set to 7 years.\n")
    result = runner.invoke(app, ["batch", str(folder), "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert "4 cases: 1 to review, 3 already done" in result.stderr
    result = runner.invoke(app, ["trends", "--db", str(db), "--format", "json"])
    points = {t["key"]: len(t["points"]) for t in json.loads(result.stdout)}
    assert points["sound/tech-design.md"] == 2
    assert sorted(points.values()) == [1, 1, 1, 2]
    table = runner.invoke(app, ["trends", "--db", str(db)])
    assert table.exit_code == 0 and "sound/tech-design.md" in table.stdout
