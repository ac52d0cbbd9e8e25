"""Air-gap without the model: the offline environment, the network guard, DuckDB and `sql`.

The same checks with the real embedded model are in tests/test_real_airgap.py.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner

from evaluator import api
from evaluator.backends.fake import FakeBackend
from evaluator.batch import BatchOptions, run_batch
from evaluator.batch.cases import discover
from evaluator.cli.main import app
from evaluator.offline import OFFLINE_ENVIRONMENT, enforce_offline
from evaluator.store import Store, query
from tests.support.data import DATASETS
from tests.support.netguard import NetworkGuard, guarded, inet_sockets

runner = CliRunner()
REQ = DATASETS / "clinic-appointments" / "requirements.md"
DESIGN = DATASETS / "clinic-appointments" / "double-booking" / "tech-design.md"


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[NetworkGuard]:
    yield from guarded(monkeypatch)


@pytest.fixture
def online_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """An environment that would let hub libraries go online (monkeypatch restores it)."""
    for name in OFFLINE_ENVIRONMENT:
        monkeypatch.setenv(name, "0")


def _offline() -> bool:
    return all(os.environ.get(name) == value for name, value in OFFLINE_ENVIRONMENT.items())


@pytest.mark.usefixtures("online_env")
def test_enforce_offline_overrides_variables_left_online() -> None:
    assert not _offline()
    enforce_offline()
    assert _offline() and os.environ["HF_HUB_OFFLINE"] == "1" and os.environ["DO_NOT_TRACK"] == "1"


@pytest.mark.usefixtures("online_env")
def test_every_cli_command_goes_offline_first() -> None:
    assert runner.invoke(app, ["profiles"]).exit_code == 0
    assert _offline()


@pytest.mark.usefixtures("online_env")
def test_the_library_entry_points_go_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    api.review_files(REQ, DESIGN, backend=FakeBackend.answering())
    assert _offline()
    for name in OFFLINE_ENVIRONMENT:
        monkeypatch.setenv(name, "0")
    run_batch([], BatchOptions(db=tmp_path / "e.duckdb"), backend=FakeBackend([]))
    assert _offline()


def test_the_guard_refuses_every_kind_of_attempt_and_names_the_caller(monkeypatch: pytest.MonkeyPatch) -> None:
    guard = NetworkGuard()
    guard.install(monkeypatch)
    tcp, udp = socket.socket(socket.AF_INET, socket.SOCK_STREAM), socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    attempts = [
        lambda: socket.create_connection(("127.0.0.1", 9)),
        lambda: tcp.connect(("127.0.0.1", 9)),
        lambda: tcp.connect_ex(("127.0.0.1", 9)),
        lambda: udp.sendto(b"x", ("::1", 9)),
        lambda: socket.getaddrinfo("example.com", 443),
    ]
    try:
        for attempt in attempts:
            with pytest.raises(ConnectionRefusedError, match="test_the_guard_refuses_every_kind"):
                attempt()
    finally:
        tcp.close()
        udp.close()
    assert len(guard.attempts) == len(attempts) and "('127.0.0.1', 9)" in guard.attempts[0]
    left, right = socket.socketpair(socket.AF_UNIX)  # local sockets stay allowed
    left.sendall(b"ok")
    assert right.recv(2) == b"ok"
    left.close()
    right.close()


def test_inet_sockets_sees_a_socket_the_process_holds() -> None:
    before = inet_sockets()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))  # no traffic: binding is enough to appear in /proc/net/udp
        held = inet_sockets() - before
    if not Path("/proc/net/udp").is_file():
        pytest.skip("no Linux /proc/net here")
    assert len(held) == 1


def test_review_batch_sql_trends_export_and_ingest_without_network(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_network: NetworkGuard
) -> None:
    out, db, folder = tmp_path / "tech-design-review.md", tmp_path / "e.duckdb", tmp_path / "cases"
    (folder / "one").mkdir(parents=True)
    (folder / "requirements.md").write_text(REQ.read_text())
    (folder / "one" / "tech-design.md").write_text(DESIGN.read_text())
    commands = [
        ["review", "-r", str(REQ), "-d", str(DESIGN), "-o", str(out), "--backend", "fake"],
        ["batch", str(folder), "--db", str(db), "--backend", "fake"],
        ["sql", "SELECT count(*) AS n FROM latest_reviews", "--db", str(db), "-f", "json"],
        ["trends", "--db", str(db)],
        ["export", str(tmp_path / "export"), "--db", str(db)],
        ["ingest", str(out), "--db", str(db)],
    ]
    for command in commands:
        result = runner.invoke(app, command)
        assert result.exit_code == 0, (command, result.output)
    assert json.loads(runner.invoke(app, commands[2]).stdout) == [{"n": 2}]  # one generated, one ingested


def test_the_store_cannot_fetch_duckdb_extensions(tmp_path: Path, no_network: NetworkGuard) -> None:
    # the writer connection itself: it runs only the store's SQL, but check its settings
    with Store(tmp_path / "e.duckdb") as store, store.transaction() as db:
        settings = dict(db.execute("SELECT name, value FROM duckdb_settings()").fetchall())
        assert settings["autoinstall_known_extensions"] == "false"
        assert settings["autoload_known_extensions"] == "false"
        assert settings["allow_community_extensions"] == "false"
        with pytest.raises(duckdb.Error, match="requires the extension httpfs"):
            db.execute("SELECT * FROM 'https://example.invalid/reviews.csv'")  # would autoload httpfs


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO runs (run_id) VALUES ('x')",
        "UPDATE reviews SET completeness_score = 10",
        "DROP VIEW latest_reviews",
        "SELECT 1; DELETE FROM reviews",
        "FORCE INSTALL httpfs",
        "INSTALL httpfs FROM 'http://example.invalid'",
        "SET autoinstall_known_extensions = true",
        "PRAGMA enable_profiling",
        "SELECT * FROM 'https://example.invalid/x.csv'",
        "SELECT * FROM read_text('{tmp}/secret.txt')",
        "SELECT * FROM glob('{tmp}/*')",
        "EXPORT DATABASE '{tmp}/dump'",
        "ATTACH '{tmp}/other.duckdb' AS other",
        "COPY reviews TO '{tmp}/out.csv'",
    ],
)
def test_sql_refuses_writes_files_and_extensions_and_changes_nothing(
    tmp_path: Path, fake_batch: Path, statement: str, no_network: NetworkGuard
) -> None:
    db = fake_batch
    (tmp_path / "secret.txt").write_text("not for sql")
    before = query(db, "SELECT (SELECT count(*) FROM reviews), (SELECT max(completeness_score) FROM reviews)")[1]
    files = sorted(tmp_path.rglob("*"))
    result = runner.invoke(app, ["sql", statement.format(tmp=tmp_path), "--db", str(db)])
    assert result.exit_code == 2 and "refused: queries only read" in result.stderr, result.output
    assert "Traceback" not in result.output and len(result.stderr.strip().splitlines()) == 1
    assert "not for sql" not in result.output
    assert (
        query(db, "SELECT (SELECT count(*) FROM reviews), (SELECT max(completeness_score) FROM reviews)")[1] == before
    )
    assert sorted(tmp_path.rglob("*")) == files


@pytest.fixture
def fake_batch(tmp_path: Path) -> Path:
    """A store with one generated review (fake backend) in it."""
    db = tmp_path / "e.duckdb"
    cases: list[Any] = discover(DATASETS / "clinic-appointments")[:1]
    assert run_batch(cases, BatchOptions(db=db), backend=FakeBackend.answering()).count("ok") == 1
    return db
