"""Readers during a batch: `status`, `sql` and `report` work while a real batch process writes the
same file and is then killed with SIGKILL; the resumed batch stores every case exactly once.

The batch is the real CLI in its own process (tests/support/slow_batch.py) with a fake model that
takes a moment per review, so the reads meet it between, and during, its writes.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from evaluator.cli.main import app
from evaluator.errors import StoreError
from evaluator.reports.status import run_status
from evaluator.store import query
from tests.reports.test_status import folder
from tests.support.data import ROOT

runner = CliRunner()
CASES = 14


def read_json(*args: str) -> Any:
    result = runner.invoke(app, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def wait_for_first_review(db: Path, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 120  # a bound on a broken test, not a speed check
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the batch ended before its first review"
        try:
            if run_status(db).done >= 1:
                return
        except StoreError:  # no database or no run yet
            pass
        time.sleep(0.05)
    raise AssertionError("no review within 120 s")


def test_status_sql_and_report_read_while_a_batch_writes_and_is_killed(tmp_path: Path) -> None:
    cases, db = folder(tmp_path / "cases", CASES), tmp_path / "e.duckdb"
    command = [sys.executable, "-m", "tests.support.slow_batch", str(cases), str(db), "0.3"]
    with subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) as proc:
        wait_for_first_review(db, proc)
        seen: list[int] = []
        while not seen or seen[-1] < CASES // 2:  # read in a loop while the batch writes
            state = read_json("status", "--db", str(db))
            assert state["status"] == "running" and state["total"] == CASES
            [row] = read_json("sql", "SELECT count(*) AS n FROM reviews WHERE status = 'ok'", "--db", str(db))
            assert row["n"] >= state["done"] and (not seen or row["n"] >= seen[-1])
            seen.append(row["n"])
            report = runner.invoke(app, ["report", "--db", str(db), "-o", str(tmp_path / "report.html")])
            assert report.exit_code == 0, report.output
        proc.send_signal(signal.SIGKILL)
        assert proc.wait() == -signal.SIGKILL
    assert len(seen) >= 3 and seen[-1] < CASES  # several rounds of reads, all while it ran

    assert read_json("status", "--db", str(db))["status"] == "interrupted"
    resumed = runner.invoke(app, ["batch", str(cases), "--db", str(db), "--backend", "fake"])
    assert resumed.exit_code == 0, resumed.output

    per_case = query(db, "SELECT case_key, count(*) FROM reviews WHERE status = 'ok' GROUP BY 1 ORDER BY 1")[1]
    assert per_case == [(f"d{i}/tech-design.md", 1) for i in sorted(range(CASES), key=str)]
    assert query(db, "SELECT status FROM runs ORDER BY started_at")[1] == [("interrupted",), ("completed",)]
    [(total, ok, failed, stored)] = query(
        db,
        "SELECT cases_total, cases_ok, cases_failed, (SELECT count(*) FROM reviews r WHERE r.run_id = runs.run_id "
        "AND r.status = 'ok') FROM runs WHERE status = 'interrupted'",
    )[1]
    assert (total, ok, failed) == (CASES, stored, 0) and ok >= seen[-1]  # the killed run's counts, not NULL
    orphans = query(db, "SELECT count(*) FROM findings WHERE review_id NOT IN (SELECT review_id FROM reviews)")[1]
    assert orphans == [(0,)]
    assert read_json("status", "--db", str(db))["remaining"] == 0
