"""A driver that started its own local Ray instance and is killed with SIGKILL leaves no Ray process
behind (Ray's dashboard and runtime-env agents outlived it, ~170 MB), and its run gets counts."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from evaluator.store import Store, query
from tests.batch.test_ray import _cases
from tests.store.test_read_during_batch import wait_for_first_review
from tests.support.data import ROOT

pytestmark = pytest.mark.ray


def _table() -> dict[int, tuple[int, int]]:
    """pid -> (parent pid, start time) of every running process, from /proc."""
    table = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        table[int(entry.name)] = (int(fields[1]), int(fields[19]))
    return table


def family(root: int) -> dict[int, int]:
    """The running descendants of ``root``: pid -> start time."""
    table, found, todo = _table(), {}, [root]
    while todo:
        parent = todo.pop()
        for pid, (ppid, start) in table.items():
            if ppid == parent and pid not in found:
                found[pid] = start
                todo.append(pid)
    return found


def alive(processes: dict[int, int]) -> dict[int, str]:
    """Those of ``processes`` still running as themselves (same start time): pid -> process title."""
    table = _table()
    left = {}
    for pid, start in processes.items():
        if pid in table and table[pid][1] == start:
            with contextlib.suppress(OSError):
                left[pid] = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:80]
    return left


def test_a_killed_driver_leaves_no_ray_process_and_its_run_gets_counts(tmp_path: Path) -> None:
    tags = [f"A{i}" for i in range(1, 9)]
    _cases(tmp_path / "data", tags)
    db, log = tmp_path / "e.duckdb", tmp_path / "calls.log"
    command = [sys.executable, "-m", "tests.support.ray_driver", str(tmp_path / "data"), str(db), "local", str(log)]
    seen: dict[int, int] = {}
    with subprocess.Popen([*command, "0.5"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          text=True) as proc:  # fmt: skip
        try:
            wait_for_first_review(db, proc)
            for _ in range(10):  # what the driver started: the watchdog, GCS, raylet, its agents and workers
                seen |= family(proc.pid)
                time.sleep(0.1)
            assert any("DashboardAgent" in title or "RuntimeEnvAgent" in title for title in alive(seen).values())
            proc.send_signal(signal.SIGKILL)
            assert proc.wait() == -signal.SIGKILL
            deadline = time.monotonic() + 60
            while alive(seen) and time.monotonic() < deadline:
                time.sleep(0.5)
            assert alive(seen) == {}
        finally:
            for pid in alive(seen):  # never leave this test's processes on the machine
                os.kill(pid, signal.SIGKILL)
    Store(db).close()  # the next writer marks the killed run
    [(status, total, ok, failed)] = query(db, "SELECT status, cases_total, cases_ok, cases_failed FROM runs")[1]
    stored = query(db, "SELECT count(*) FROM reviews WHERE status = 'ok'")[1][0][0]
    assert (status, total, ok, failed) == ("interrupted", len(tags), stored, 0) and 1 <= stored < len(tags)
