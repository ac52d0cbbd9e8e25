"""`--endpoint` on the command line and the HTTP backend inside a batch (fake servers, no model)."""

from __future__ import annotations

import itertools
import json
import threading
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from evaluator.backends import ModelOptions, backend_factory
from evaluator.backends.fake import schema_instance
from evaluator.backends.openai_http import HttpFactory, HttpOptions
from evaluator.batch import BatchObserver, BatchOptions, run_batch
from evaluator.batch.capacity import Capacity
from evaluator.batch.cases import discover
from evaluator.cli.common import model_options
from evaluator.cli.main import app
from evaluator.errors import ModelError
from tests.support.data import DATASETS
from tests.support.fake_server import FakeServer, transports

runner = CliRunner()
A, B = "http://127.0.0.1:8081", "http://127.0.0.1:8082"


def review_answer(body: dict[str, Any]) -> str:
    schema = body["json_schema"]
    if "mark" in schema.get("properties", {}):
        return '{"mark": "zq-7"}'
    return json.dumps(schema_instance(schema))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--endpoint", "http://10.1.2.3:8080"], "not on this machine"),
        (["--endpoint", "http://10.1.2.3:8080"], "(see --allow-remote)"),
        (["--endpoint", "ftp://127.0.0.1"], "is not an http:// or https:// URL"),
        (["--endpoint", "http://127.0.0.1:8080", "--backend", "fake"], "endpoints are for the openai backend"),
        (["--backend", "openai"], "needs the URL of at least one server"),
        (["--endpoint", "http://127.0.0.1:1", "--api-key-env", "EVALUATOR_NO_SUCH_VAR"], "EVALUATOR_NO_SUCH_VAR"),
        (["--endpoint", "http://127.0.0.1:1"], "did not answer"),
    ],
)
def test_a_bad_endpoint_is_one_line_and_exit_2_before_any_case(args: list[str], message: str, tmp_path: Path) -> None:
    db = tmp_path / "x.duckdb"
    result = runner.invoke(app, ["batch", str(DATASETS / "loan-origination"), "--db", str(db), *args])
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert not db.exists()  # refused before the store was created


def test_endpoint_options_select_the_openai_backend() -> None:
    factory = backend_factory(ModelOptions("m", 4096, endpoints=("http://127.0.0.1:9",), backend="openai", slots=3))
    assert isinstance(factory, HttpFactory)
    assert (factory.options.model, factory.options.n_ctx, factory.options.slots) == ("m", 4096, 3)
    with pytest.raises(ModelError, match="needs the URL"):
        backend_factory(ModelOptions(backend="openai"))


def test_gpu_layers_reach_the_in_process_backend_options() -> None:
    factory = backend_factory(model_options("llama-cpp", None, None, None, n_gpu_layers=-1))
    assert factory.options.n_gpu_layers == -1  # type: ignore[attr-defined]


class Capacities(BatchObserver):
    def __init__(self) -> None:
        self.seen: list[Capacity] = []

    def capacity(self, capacity: Capacity) -> None:
        self.seen.append(capacity)


def test_a_batch_runs_as_many_cases_at_once_as_the_servers_have_slots(tmp_path: Path) -> None:
    together = threading.Barrier(3, timeout=30)  # the first three reviews wait for each other: all slots busy
    reviews = itertools.count()

    def answer(body: dict[str, Any]) -> str:
        if "mark" not in json.dumps(body["json_schema"]) and next(reviews) < 3:
            together.wait()
        return review_answer(body)

    servers = {A: FakeServer(slots=2, n_ctx=8192, answer=answer), B: FakeServer(slots=1, n_ctx=8192, answer=answer)}
    factory = HttpFactory(HttpOptions((A, B)), transport=transports(servers))
    observer = Capacities()
    db = tmp_path / "r.duckdb"
    cases = discover(DATASETS / "clinic-appointments")
    summary = run_batch(cases, BatchOptions(db=db, parallel=None), backend=factory, observer=observer)
    assert [c.parallel for c in observer.seen] == [3]
    assert summary.count("ok") == len(cases)
    assert all(len(s.chats) > 1 for s in servers.values())  # both served reviews beyond their probe
    run = runner.invoke(
        app, ["sql", "SELECT backend, model_name, model_sha256 FROM runs", "--db", str(db), "-f", "json"]
    )
    assert json.loads(run.stdout) == [{"backend": "llama-server", "model_name": "smollm2", "model_sha256": None}]
