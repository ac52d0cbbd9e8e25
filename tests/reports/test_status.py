"""`evaluator status`: the latest run's counts, speed, ETA, last cases and failures, as a table or JSON."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from evaluator.backends.fake import FakeBackend, schema_output
from evaluator.batch import BatchOptions, run_batch
from evaluator.batch.cases import discover
from evaluator.cli.main import app
from evaluator.reports.status import run_status
from evaluator.reviewer.engine import ReviewSettings
from evaluator.store import ReviewRecord, Store, query
from tests.support.data import ROOT

runner = CliRunner()


def folder(root: Path, designs: int) -> Path:
    root.mkdir(parents=True)
    (root / "requirements.md").write_text("# Loans\n\nFR-1: accept applications.\n")
    for i in range(designs):
        (root / f"d{i}").mkdir()
        (root / f"d{i}" / "tech-design.md").write_text(f"# Design {i}\n\n## Data Model\n\nMARK-{i}\n")
    return root


def garbage_for_d1(messages: list[dict[str, str]], schema: dict[str, Any]) -> str:
    return "not json" if '"Design 1"' in messages[-1]["content"] else schema_output(messages, schema)


def body(text: str) -> list[list[str]]:
    return [
        [c.strip() for c in line.strip().strip("│").split("│")] for line in text.splitlines() if line.startswith("│")
    ]


def test_a_finished_batch_with_a_failure(tmp_path: Path) -> None:
    db = tmp_path / "e.duckdb"
    options = BatchOptions(db=db, settings=ReviewSettings(prose=True))  # the full prose pass fails on garbage
    run_batch(discover(folder(tmp_path / "c", 3)), options, backend=FakeBackend.answering(garbage_for_d1))

    result = runner.invoke(app, ["status", "--db", str(db), "--format", "json"])

    assert result.exit_code == 0, result.output
    state = json.loads(result.stdout)
    assert (state["status"], state["total"], state["done"], state["failed"], state["remaining"]) == (
        "completed", 3, 2, 1, 0)  # fmt: skip
    assert state["eta_s"] is None and state["docs_per_hour"] > 0
    [failure] = state["failures"]
    [(error,)] = query(db, "SELECT error FROM reviews WHERE status = 'failed'")[1]
    assert failure["case_key"] == "d1/tech-design.md" and failure["error"] == error
    stored = query(db, "SELECT case_key, status FROM reviews ORDER BY created_at DESC")[1]
    assert [(c["case_key"], c["status"]) for c in state["recent"]] == stored

    table = runner.invoke(app, ["status", "--db", str(db)]).stdout
    rows = body(table)
    assert rows[0][1:6] == ["completed", "2", "1", "0", "0"]
    assert [r[:2] for r in rows[1:4]] == [[k, s] for k, s in stored]
    assert rows[-1][0] == "d1/tech-design.md" and rows[-1][2] == error  # the error whole, even piped


def test_a_running_batch_shows_what_remains_and_an_eta(tmp_path: Path) -> None:
    db = tmp_path / "e.duckdb"
    with Store(db) as store:  # this process is the writer, alive
        run_id = store.begin_run("batch", "cases")
        store.planned(run_id, total=10, skipped=2)
        for i in range(3):
            store.save(ReviewRecord(run_id, f"d{i}/tech-design.md", status="failed" if i == 2 else "ok", error="x"))
        [(started,)] = query(db, "SELECT started_at FROM runs")[1]
        state = run_status(db, now=started + timedelta(hours=1))
    assert (state.status, state.done, state.failed, state.remaining) == ("running", 2, 1, 5)
    assert state.docs_per_hour == 3.0 and state.eta_s == 5 * 3600 / 3


def test_a_killed_writer_s_run_shows_as_interrupted_before_anyone_marks_it(tmp_path: Path) -> None:
    db = tmp_path / "e.duckdb"
    code = (
        "import pathlib, sys, time; from evaluator.store import Store; s = Store(pathlib.Path(sys.argv[1])); "
        "s.planned(s.begin_run('batch', 'x'), total=4, skipped=0); print('running', flush=True); time.sleep(60)"
    )
    with subprocess.Popen([sys.executable, "-c", code, str(db)], stdout=subprocess.PIPE, text=True, cwd=ROOT) as proc:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "running"
        assert run_status(db).status == "running"
        proc.send_signal(signal.SIGKILL)
        assert proc.wait() == -signal.SIGKILL
    assert query(db, "SELECT status FROM runs")[1] == [("running",)]  # nobody has written since
    assert run_status(db).status == "interrupted"
    result = runner.invoke(app, ["status", "--db", str(db)])
    assert "gone (killed?)" in result.stderr and body(result.stdout)[0][1] == "interrupted"
    Store(db).close()  # the next writer takes the lock and records it
    assert query(db, "SELECT status FROM runs")[1] == [("interrupted",)]


def test_no_run_yet_is_one_line(tmp_path: Path) -> None:
    db = tmp_path / "e.duckdb"
    Store(db).close()
    result = runner.invoke(app, ["status", "--db", str(db)])
    assert result.exit_code != 0 and "no runs in" in result.stderr and result.stderr.count("\n") == 1
