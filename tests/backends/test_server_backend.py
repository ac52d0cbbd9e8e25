"""Real batches through llama.cpp's own llama-server (``make llama-server``) with the embedded model.

Two servers on 127.0.0.1 serve one batch of small cases; one is killed with SIGKILL in the
middle. Nothing may be lost or duplicated (checked through ``evaluator sql``), and the
process may connect to those two addresses only. A third server wants an API key, which
must appear nowhere in the store. Sizes are small (three short cases, one slot per server,
a 3,072-token context per slot) so the module runs in about three minutes on two cores; run
it under ``flock /tmp/model.lock`` like every test that loads the model.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from evaluator.backends.openai_http import HttpFactory, HttpOptions
from evaluator.batch import BatchObserver, BatchOptions, CaseOutcome, run_batch
from evaluator.batch.cases import Case, discover
from evaluator.cli.main import app
from evaluator.reviewer.engine import ReviewSettings
from tests.support import llama_server
from tests.support.llama_server import LlamaServer
from tests.support.netguard import guarded

pytestmark = pytest.mark.server
runner = CliRunner()
N_CTX = 3072  # per slot: the ~1,300-token prompt of a small case plus the review
MAX_TOKENS = 1024  # the embedded model writes a whole review in 600-900 tokens
SECRET = "sk-evaluator-test-7f3a9c2e51"

REQUIREMENTS = """# Requirements

- FR-1: Clients book an appointment with POST /appointments; the API answers 201 with its id.
- FR-2: Two bookings of the same slot must never both succeed.
- NFR-1: Every request is authenticated.
"""
DESIGNS = {
    "locking": "## Booking\n\nA row lock on the slot serialises bookings; the second gets 409.\n",
    "no-auth": "## API\n\nPOST /appointments is open to anyone; no token is checked.\n",
    "sync-email": "## Booking\n\nThe API sends the confirmation e-mail before it answers.\n",
}


def write_cases(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "requirements.md").write_text(REQUIREMENTS, encoding="utf-8")
    for name, body in DESIGNS.items():
        (root / name).mkdir(exist_ok=True)
        (root / name / "tech-design.md").write_text(f"# Appointments: {name}\n\n{body}", encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[LlamaServer]]:
    logs = tmp_path_factory.mktemp("llama-server-logs")
    started: list[LlamaServer] = []
    try:
        for _ in range(2):
            started.append(llama_server.start(logs, n_ctx=N_CTX, slots=1))
        yield started
    finally:
        for server in started:
            server.kill()


def sql(db: Path, statement: str) -> list[dict[str, Any]]:
    result = runner.invoke(app, ["sql", statement, "--db", str(db), "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


class KillOnThirdStart(BatchObserver):
    """Kills the first server when the third case starts: both servers then have a case in flight."""

    def __init__(self, victim: LlamaServer) -> None:
        self.victim = victim
        self.started_cases = 0
        self.outcomes: list[CaseOutcome] = []

    def started(self, case: Case) -> None:
        self.started_cases += 1
        if self.started_cases == 3:
            threading.Thread(target=self.victim.kill).start()  # from another thread, as a crash would

    def finished(self, outcome: CaseOutcome) -> None:
        self.outcomes.append(outcome)


def test_a_batch_through_two_servers_survives_one_killed_mid_batch(
    servers: list[LlamaServer], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, db = write_cases(tmp_path / "cases"), tmp_path / "reviews.duckdb"
    first, second = servers
    guard_run = guarded(monkeypatch, allow={first.address, second.address})
    guard = next(guard_run)
    factory = HttpFactory(HttpOptions((first.url, second.url)))
    observer = KillOnThirdStart(first)
    options = BatchOptions(db=db, settings=ReviewSettings(max_tokens=MAX_TOKENS), parallel=None)
    summary = run_batch(discover(folder), options, backend=factory, observer=observer)
    next(guard_run, None)  # nothing refused, no socket left open
    factory_model = Path(llama_server.model_id(second)).name  # recorded without the server's folder

    assert first.process.poll() is not None  # it really died mid-batch
    assert {address for address in guard.connections} == {first.address, second.address}
    rows = sql(db, "SELECT case_key, count(*) AS n, min(status) AS status FROM reviews GROUP BY case_key")
    assert sorted(r["case_key"] for r in rows) == sorted(f"{name}/tech-design.md" for name in DESIGNS)
    assert all(r["n"] == 1 for r in rows), rows  # none duplicated
    assert summary.count("ok") + summary.count("failed") == len(DESIGNS) and not summary.interrupted
    ok = sql(db, "SELECT * FROM reviews WHERE status = 'ok'")
    assert ok, "no case produced a valid review"
    for review in ok:  # the same kind of rows as in-process reviews
        assert review["model_name"] == factory_model
        assert 0 <= review["completeness_score"] <= 10 and review["markdown"].startswith("#")
        assert review["prompt_tokens"] > 0 and review["completion_tokens"] > 0 and review["seconds"] > 0
    run = sql(db, "SELECT * FROM runs")[0]
    assert run["backend"] == "llama-server" and run["status"] == "completed"
    assert second.requests_served() > first.requests_served()


def test_an_api_key_is_used_and_never_stored(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, db = write_cases(tmp_path / "cases"), tmp_path / "keyed.duckdb"
    for name in list(DESIGNS)[1:]:
        (folder / name / "tech-design.md").unlink()  # one case is enough here
    server = llama_server.start(tmp_path_factory.mktemp("keyed-logs"), n_ctx=N_CTX, slots=1, api_key=SECRET)
    try:
        # 256 tokens cut the review off: a failed row is as good as an ok one for finding the key in it
        base = ["batch", str(folder), "--db", str(db), "--endpoint", server.url, "--max-tokens", "256"]
        refused = runner.invoke(app, [*base, "--api-key-env", "EVALUATOR_TEST_NO_KEY"])
        assert refused.exit_code == 2 and "EVALUATOR_TEST_NO_KEY" in refused.output
        monkeypatch.setenv("EVALUATOR_TEST_KEY", "wrong-key")
        wrong = runner.invoke(app, [*base, "--api-key-env", "EVALUATOR_TEST_KEY"])
        assert wrong.exit_code == 2 and "refused the API key" in wrong.output
        monkeypatch.setenv("EVALUATOR_TEST_KEY", SECRET)
        result = runner.invoke(app, [*base, "--api-key-env", "EVALUATOR_TEST_KEY"])
    finally:
        server.kill()
    assert result.exit_code in (0, 1), result.output  # 1: the review was cut off and recorded as failed
    assert SECRET not in result.output and SECRET not in refused.output + wrong.output
    assert len(sql(db, "SELECT * FROM reviews")) == 1
    stored = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("keyed.duckdb"))
    assert SECRET.encode() not in stored
