"""The batch on a real local Ray cluster (one per session, 127.0.0.1), with fakes the workers import.

What the executor promises: every case stored exactly once, whatever dies; cases of one
requirements group reviewed by one actor back to back; a stop or an interrupt leaves a
run marked interrupted that the next run resumes; nothing but 127.0.0.1 is contacted.
"""

from __future__ import annotations

import ipaddress
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from typer.testing import CliRunner

from evaluator.backends.fake import FakeBackend
from evaluator.batch import BatchObserver, BatchOptions, BatchSummary, CaseOutcome, run_batch
from evaluator.batch.cases import Case
from evaluator.batch.ray_executor import MAX_RESTARTS, RayExecutor, share_groups
from evaluator.cli.main import app
from evaluator.errors import ClusterError
from evaluator.reports.status import run_status
from evaluator.store import query
from tests.store.test_read_during_batch import wait_for_first_review
from tests.support import ray_workers
from tests.support.data import ROOT
from tests.support.netguard import NetworkGuard

pytestmark = pytest.mark.ray
runner = CliRunner()


def _cases(root: Path, tags: list[str]) -> list[Case]:
    """One case per tag; the tag's first letter picks its requirements (A... and B... share theirs)."""
    cases = []
    for tag in tags:
        group = root / tag[0]
        group.mkdir(parents=True, exist_ok=True)
        requirements = group / "requirements.md"
        requirements.write_text(f"# Loans {tag[0]}\n\nFR-1: accept applications asynchronously.\n")
        design = group / f"{tag}-design.md"
        design.write_text(
            f"# Design CASE-{tag}\n\n## Data Model\n\nThe pan_number of CASE-{tag} is stored in plain text.\n"
        )
        cases.append(Case(tag, design, requirements))
    return cases


def _run(cases: list[Case], db: Path, opener: Callable[[], Any], workers: int = 1, **kwargs: Any) -> BatchSummary:
    return run_batch(
        cases,
        BatchOptions(db=db),
        backend=FakeBackend.answering(),
        executor=RayExecutor(opener, workers=workers),
        **kwargs,
    )


def _stored(db: Path) -> list[tuple[str, str, str | None]]:
    return sorted(query(db, "SELECT case_key, status, error FROM reviews")[1])


def _log(path: Path) -> list[tuple[int, str]]:
    return [(int(pid), tag) for pid, tag in (line.split() for line in path.read_text().splitlines())]


def test_every_case_is_stored_once_and_each_group_runs_on_one_actor_in_order(tmp_path: Path, ray_cluster: Any) -> None:
    log = tmp_path / "calls.log"
    tags = ["A1", "B1", "A2", "B2", "A3", "B3"]  # interleaved: the executor regroups them
    cases = _cases(tmp_path, tags)
    summary = _run(cases, tmp_path / "e.duckdb", partial(ray_workers.fake, str(log)), workers=2)

    assert summary.count("ok") == 6 and not summary.interrupted
    assert _stored(tmp_path / "e.duckdb") == sorted((t, "ok", None) for t in tags)
    calls = _log(log)
    assert sorted(tag for _, tag in calls) == sorted(tags)  # reviewed once each
    by_pid: dict[int, list[str]] = {}
    for pid, tag in calls:
        by_pid.setdefault(pid, []).append(tag)
    assert sorted(by_pid.values()) == [["A1", "A2", "A3"], ["B1", "B2", "B3"]]  # one actor per group, in order

    again = _run(cases, tmp_path / "e.duckdb", partial(ray_workers.fake, str(log)), workers=2)
    assert again.count("cached") == 6 and len(_log(log)) == 6  # nothing reviewed twice


def test_one_large_group_is_shared_by_the_actors_in_runs_that_keep_its_order(tmp_path: Path, ray_cluster: Any) -> None:
    log = tmp_path / "calls.log"
    tags = ["A1", "A2", "A3", "A4"]
    summary = _run(_cases(tmp_path, tags), tmp_path / "e.duckdb", partial(ray_workers.fake, str(log)), workers=2)

    assert summary.count("ok") == 4
    by_pid: dict[int, list[str]] = {}
    for pid, tag in _log(tmp_path / "calls.log"):
        by_pid.setdefault(pid, []).append(tag)
    assert sorted(by_pid.values()) == [["A1", "A2"], ["A3", "A4"]]  # both actors worked, each on one run


def test_share_groups_splits_only_groups_longer_than_an_equal_share() -> None:
    def runs(tags: list[str], actors: int) -> list[list[str]]:
        jobs = [SimpleNamespace(requirements=SimpleNamespace(sha256=tag[0]), tag=tag) for tag in tags]
        return [[job.tag for job in run] for run in share_groups(jobs, actors)]  # type: ignore[arg-type]

    tags = ["A1", "B1", "A2", "A3", "A4", "A5", "B2"]
    assert runs(tags, 2) == [["A1", "A2", "A3", "A4"], ["A5"], ["B1", "B2"]]
    assert runs(tags, 1) == [["A1", "A2", "A3", "A4", "A5"], ["B1", "B2"]]
    assert runs([], 3) == []


def test_an_actor_killed_in_the_middle_of_a_case_is_restarted_and_the_case_stored_once(
    tmp_path: Path, ray_cluster: Any
) -> None:
    log, killed = tmp_path / "calls.log", tmp_path / "killed.pid"
    cases = _cases(tmp_path, ["A1", "AKILL", "A3"])
    summary = _run(cases, tmp_path / "e.duckdb", partial(ray_workers.fake, str(log), str(killed)))

    assert killed.exists(), "the actor was not killed: the test proves nothing"
    assert summary.count("ok") == 3
    assert _stored(tmp_path / "e.duckdb") == [("A1", "ok", None), ("A3", "ok", None), ("AKILL", "ok", None)]
    calls = _log(log)
    assert sorted(tag for _, tag in calls) == ["A1", "A3", "AKILL"]
    assert dict((tag, pid) for pid, tag in calls)["AKILL"] != int(killed.read_text())  # a new process finished it


def test_a_case_that_kills_every_try_is_recorded_failed_after_the_bound_and_the_rest_go_on(
    tmp_path: Path, ray_cluster: Any
) -> None:
    log, poison = tmp_path / "calls.log", tmp_path / "poison.pids"
    cases = _cases(tmp_path, ["APOISON", "A2", "B1", "B2"])
    summary = _run(cases, tmp_path / "e.duckdb", partial(ray_workers.fake, str(log), None, str(poison)), workers=2)

    assert len(poison.read_text().splitlines()) == MAX_RESTARTS + 1  # tried, then retried twice, no more
    stored = _stored(tmp_path / "e.duckdb")
    assert [row[:2] for row in stored] == [("A2", "ok"), ("APOISON", "failed"), ("B1", "ok"), ("B2", "ok")]
    assert f"died {MAX_RESTARTS + 1} times" in stored[1][2]
    assert sorted(tag for _, tag in _log(log)) == ["A2", "B1", "B2"]  # A2 went to the surviving actor
    assert summary.count("failed") == 1 and not summary.interrupted


class _StopAfterFirst(BatchObserver):
    def __init__(self) -> None:
        self.done: list[CaseOutcome] = []

    def finished(self, outcome: CaseOutcome) -> None:
        self.done.append(outcome)


@pytest.mark.parametrize("how", ["stop", "second ctrl-c"])
def test_an_interrupted_run_is_marked_so_and_the_next_run_resumes(tmp_path: Path, ray_cluster: Any, how: str) -> None:
    log, db = tmp_path / "calls.log", tmp_path / "e.duckdb"
    cases = _cases(tmp_path, ["A1", "A2", "A3", "A4"])
    observer = _StopAfterFirst()

    def should_stop() -> bool:
        if observer.done and how == "second ctrl-c":
            raise KeyboardInterrupt
        return bool(observer.done)

    opener = partial(ray_workers.fake, str(log))
    if how == "stop":
        first = _run(cases, db, opener, observer=observer, should_stop=should_stop)
        assert first.interrupted and first.count("ok") == 1
    else:
        with pytest.raises(KeyboardInterrupt):
            _run(cases, db, opener, observer=observer, should_stop=should_stop)
    assert query(db, "SELECT status FROM runs")[1] == [("interrupted",)]
    assert [row[1] for row in _stored(db)] == ["ok"]

    second = _run(cases, db, opener)
    assert (second.count("cached"), second.count("ok")) == (1, 3)
    assert _stored(db) == sorted((t, "ok", None) for t in ["A1", "A2", "A3", "A4"])  # none lost, none twice


def test_a_driver_killed_with_sigkill_leaves_a_store_the_rerun_completes_with_each_case_once(
    tmp_path: Path, ray_cluster: Any
) -> None:
    """The driver (connected to the session's cluster by address) dies mid-batch; its actors go with it."""
    tags = [f"A{i}" for i in range(1, 9)]
    _cases(tmp_path / "data", tags)
    keys, db, log = {f"A/{tag}-design.md" for tag in tags}, tmp_path / "e.duckdb", tmp_path / "calls.log"
    address = ray_cluster.get_runtime_context().gcs_address

    def driver(delay: str) -> list[str]:
        return [
            sys.executable,
            "-m",
            "tests.support.ray_driver",
            str(tmp_path / "data"),
            str(db),
            address,
            str(log),
            delay,
        ]

    with subprocess.Popen(
        driver("0.4"), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    ) as proc:
        wait_for_first_review(db, proc)
        proc.send_signal(signal.SIGKILL)
        assert proc.wait() == -signal.SIGKILL
    done = [row[0] for row in _stored(db)]
    assert 1 <= len(done) < len(tags), "the driver was not killed in the middle of the batch"
    assert run_status(db).status == "interrupted"

    # The re-run needs both of the cluster's 2 CPUs: it only finishes if the dead driver's actors are gone.
    rerun = subprocess.run(driver("0"), cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert _stored(db) == sorted((key, "ok", None) for key in keys)  # none lost, none twice
    assert query(db, "SELECT status FROM runs ORDER BY started_at")[1] == [("interrupted",), ("completed",)]
    rerun_calls = [tag for _, tag in _log(log)][-(len(tags) - len(done)) :]
    assert {f"A/{tag}-design.md" for tag in rerun_calls} == keys - set(done)  # the re-run reviewed only the rest


def test_more_workers_than_the_cluster_has_cpus_is_one_line_at_once_not_a_wait(
    tmp_path: Path, ray_cluster: Any
) -> None:
    with pytest.raises(ClusterError, match=r"3 Ray workers need 3 CPUs \(one each\), the cluster has 2"):
        _run(_cases(tmp_path, ["A1"]), tmp_path / "e.duckdb", partial(ray_workers.fake), workers=3)


def test_a_ray_run_connects_to_nothing_but_127_0_0_1(
    tmp_path: Path, ray_cluster: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    guard = NetworkGuard()
    guard.install(monkeypatch)  # Python-level connects and name lookups of the driver are refused
    summary = _run(_cases(tmp_path, ["A1", "B1"]), tmp_path / "e.duckdb", partial(ray_workers.fake), workers=2)
    assert summary.count("ok") == 2 and not guard.attempts
    peers = _peers(_process_tree(os.getpid()))
    assert peers, "no socket of the Ray processes found: the check proves nothing"
    assert all(ip.is_loopback or ip.is_unspecified for ip in peers), peers


def test_cli_batch_with_the_ray_executor_and_the_registered_fake(tmp_path: Path, ray_cluster: Any) -> None:
    _cases(tmp_path / "data", ["A1", "A2", "B1"])
    db = tmp_path / "e.duckdb"
    args = [
        "batch",
        str(tmp_path / "data"),
        "--db",
        str(db),
        "--backend",
        "fake",
        "--executor",
        "ray",
        "--workers",
        "2",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert [row[1:] for row in _stored(db)] == [("ok", None)] * 3
    assert query(db, "SELECT status, cases_ok FROM runs")[1] == [("completed", 3)]


def test_without_an_address_the_command_starts_and_stops_its_own_local_ray(tmp_path: Path) -> None:
    _cases(tmp_path / "data", ["A1", "B1"])
    db = tmp_path / "e.duckdb"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("RAY_ADDRESS", None)
    args = ["batch", str(tmp_path / "data"), "--db", str(db), "--backend", "fake", "--executor", "ray"]
    done = subprocess.run(
        [sys.executable, "-m", "evaluator", *args], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert [row[1] for row in _stored(db)] == ["ok", "ok"]
    assert query(db, "SELECT status, cases_ok FROM runs")[1] == [("completed", 2)]


def test_an_address_where_no_cluster_answers_is_one_line_before_any_run(tmp_path: Path) -> None:
    _cases(tmp_path / "data", ["A1"])
    db = tmp_path / "e.duckdb"
    args = ["batch", str(tmp_path / "data"), "--db", str(db), "--backend", "fake", "--executor", "ray"]
    result = runner.invoke(app, [*args, "--ray-address", "127.0.0.1:1"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "no Ray cluster answers at 127.0.0.1:1" in result.output and "--ray-address" in result.output
    assert not db.exists()  # refused before the store recorded a run


def test_thread_executor_refuses_ray_options(tmp_path: Path) -> None:
    result = runner.invoke(app, ["batch", str(tmp_path), "--backend", "fake", "--workers", "2"])
    assert result.exit_code == 2 and "only with --executor ray" in result.output


@pytest.mark.parametrize("command", ["batch", "calibrate"])
def test_without_the_extra_one_line_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError
    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "0")
    _cases(tmp_path / "data", ["A1"])
    args = [
        command,
        str(tmp_path / "data"),
        "--db",
        str(tmp_path / "e.duckdb"),
        "--backend",
        "fake",
        "--executor",
        "ray",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "Ray is not installed: pip install 'evaluator[ray]'" in result.output
    assert "Traceback" not in result.output


# --- which addresses the Ray processes talk to ----------------------------------------------


def _process_tree(root: int) -> set[int]:
    """``root`` and its descendants (Ray's GCS, raylet and workers are the test process's)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    tree, grew = {root}, True
    while grew:
        more = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree |= more
        grew = bool(more)
    return tree


def _peers(pids: set[int]) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """Remote addresses of the TCP/UDP sockets ``pids`` hold (0.0.0.0 for listening ones)."""
    inodes: set[str] = set()
    for pid in pids:
        try:
            fds = list(Path(f"/proc/{pid}/fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    peers = []
    for table in ("tcp", "tcp6", "udp", "udp6"):
        for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
            cols = line.split()
            if cols[9] in inodes:
                peers.append(_address(cols[2].split(":")[0]))
    return peers


def _address(hex_ip: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """An address as /proc/net writes it: 32-bit words in host (little-endian) order."""
    raw = b"".join(bytes.fromhex(hex_ip[i : i + 8])[::-1] for i in range(0, len(hex_ip), 8))
    ip = ipaddress.ip_address(raw)
    mapped = getattr(ip, "ipv4_mapped", None)
    return mapped or ip
