"""The writer waits for another program holding the store, says who and for how long, and goes on
the moment the file is free; readers between bulk writes get their turn. The holder is a real
second process with its own DuckDB connection, as a notebook or the DuckDB CLI would be."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner

import evaluator.store.files as store_files
from evaluator.cli.main import app
from evaluator.ingest.reviews import _Batch, ingest
from evaluator.store import Store, query
from tests.support.data import ROOT
from tests.support.report_helpers import write_cases

runner = CliRunner()
_READ = """
import sys
from pathlib import Path
from evaluator.store import query
while True:
    print(query(Path(sys.argv[1]), "SELECT count(*) FROM reviews")[1][0][0], flush=True)
"""
_HOLD = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1], read_only=sys.argv[3] == "ro")
con.execute("SELECT count(*) FROM runs").fetchall()
print("held", flush=True)
time.sleep(float(sys.argv[2]))
"""


@contextmanager
def held(db: Path, seconds: float, mode: str = "rw") -> Iterator[subprocess.Popen[str]]:
    """Another process that opens ``db`` (read-write, or 'ro') and keeps it open ``seconds``."""
    command = [sys.executable, "-c", _HOLD, str(db), str(seconds), mode]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held", proc.stderr.read()
        try:
            yield proc
        finally:
            proc.kill()


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(store_files, "WAIT_REPORT_S", 0.5, raising=False)  # every half second, not every 30
    db = tmp_path / "e.duckdb"
    Store(db).close()  # a migrated store the holder opens
    return db


@pytest.mark.parametrize("mode", ["rw", "ro"])
def test_a_batch_waits_for_a_holder_says_who_and_completes(tmp_path: Path, store: Path, mode: str) -> None:
    write_cases(tmp_path / "cases", {f"svc{i}": (6, 5) for i in range(3)})
    started = time.monotonic()
    with held(store, 2.5, mode) as holder:
        result = runner.invoke(app, ["batch", str(tmp_path / "cases"), "--db", str(store), "--backend", "fake"])
    assert result.exit_code == 0, result.output
    assert time.monotonic() - started >= 2.0  # it waited for the holder instead of failing
    waiting = [line for line in result.stderr.splitlines() if line.startswith("waiting for the database")]
    assert waiting and f"process {holder.pid} (python" in waiting[0] and "so far)" in waiting[0], result.stderr
    assert query(store, "SELECT status, count(*) FROM reviews GROUP BY 1")[1] == [("ok", 3)]
    assert query(store, "SELECT status, cases_ok FROM runs")[1] == [("completed", 3)]


def test_a_lock_timeout_is_one_line_naming_the_holder(tmp_path: Path, store: Path) -> None:
    write_cases(tmp_path / "cases", {"svc": (6, 5)})
    with held(store, 30) as holder:
        args = ["batch", str(tmp_path / "cases"), "--db", str(store), "--backend", "fake", "--lock-timeout", "1"]
        result = runner.invoke(app, args)
    assert result.exit_code == 2
    [line] = result.stderr.strip().splitlines()[-1:]
    assert f"still in use by process {holder.pid} (python" in line and "(see --lock-timeout)" in line, line


def test_ingest_writes_in_batches_and_a_reader_gets_its_turn_between_them(
    tmp_path: Path, store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It opened the store for every file (twice): 10,000 reviews took 48 minutes."""
    folder = tmp_path / "reviews"
    for i in range(250):
        path = folder / f"svc{i}" / "tech-design-review.md"
        path.parent.mkdir(parents=True)
        path.write_text(
            f"# Technical Design Review: S{i}\n\n## Review Summary\n\n- **Completeness Score**: {i % 11}/10\n"
        )
    opened: list[Any] = []
    connect = duckdb.connect

    def counting(*args: Any, **kwargs: Any) -> Any:
        con = connect(*args, **kwargs)  # tries that meet the reader's lock raise: not openings
        opened.append(args)
        return con

    monkeypatch.setattr("evaluator.store.writer.duckdb.connect", counting)
    # A reader in its own process (one DuckDB instance per file per process): `evaluator sql`'s query, in a loop.
    reader = subprocess.Popen(
        [sys.executable, "-c", _READ, str(store)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    seen: list[int] = []
    files = _Batch.files

    def then_let_the_reader_in(self: Any, pairs: Any) -> Any:
        done = files(self, pairs)
        # between batches the store is free: wait (at most a minute) until the reader has read what
        # this batch wrote, so a busy machine cannot hide whether the writer lets it in
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any(0 < n < 250 for n in seen):
            assert reader.stdout is not None
            line = reader.stdout.readline()
            if not line.strip():
                break  # the reader died: its error is asserted below
            seen.append(int(line))
        return done

    monkeypatch.setattr(_Batch, "files", then_let_the_reader_in)
    try:
        assert reader.stdout is not None and reader.stdout.readline().strip() == "0"  # reading before the ingest
        results = ingest([folder], store)
    finally:
        reader.terminate()
        out, errors = reader.communicate()
    seen += [int(n) for n in out.split()]
    assert "Error" not in errors, errors  # no read failed
    assert [r.status for r in results] == ["ok"] * 250
    assert len(opened) <= 12, len(opened)  # a few openings per batch of 100, not two per file
    assert any(0 < n < 250 for n in seen), sorted(set(seen))  # the reader read between the batches
