"""The HTTP backend over real sockets: a fake server behind a local ``http.server``.

The socket guard allows the one server this test started; the backend must connect there
and nowhere else, and fail over when a second named endpoint refuses connections.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from evaluator.backends.base import Sampling
from evaluator.backends.fake import schema_instance
from evaluator.backends.openai_http import HttpOptions, open_http_backend
from evaluator.cli.main import app
from evaluator.errors import ModelError
from tests.support.data import DATASETS
from tests.support.fake_server import FakeServer
from tests.support.netguard import guarded

REQ = DATASETS / "loan-origination" / "docs" / "requirements.md"
DESIGN = DATASETS / "loan-origination" / "pii-in-clear" / "tech-design.md"


def serve(fake: FakeServer) -> tuple[ThreadingHTTPServer, int]:
    """Run ``fake`` behind a real HTTP server on 127.0.0.1; returns the server and its port."""

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            request = httpx.Request(self.command, f"http://x{self.path}", headers=dict(self.headers), content=body)
            response = fake.handle(request)
            self.send_response(response.status_code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(response.content)))
            self.end_headers()
            self.wfile.write(response.content)

        do_GET = do_POST = _answer

        def log_message(self, *args: object) -> None:  # keep test output clean
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


def closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def live() -> Iterator[tuple[FakeServer, int]]:
    fake = FakeServer(slots=2)
    server, port = serve(fake)
    yield fake, port
    server.shutdown()
    server.server_close()


def test_only_the_named_endpoint_is_contacted_and_a_dead_one_is_refused_up_front(
    live: tuple[FakeServer, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake, port = live
    dead = closed_port()
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # must not be followed
    options = HttpOptions((f"http://127.0.0.1:{port}", f"http://127.0.0.1:{dead}"))
    with pytest.raises(ModelError, match=f"endpoint http://127.0.0.1:{dead} did not answer"):
        open_http_backend(options)  # every named endpoint must answer the probe
    guard_run = guarded(monkeypatch, allow={("127.0.0.1", port), ("127.0.0.1", dead)})
    guard = next(guard_run)
    backend = open_http_backend(HttpOptions((f"http://127.0.0.1:{port}",)))
    gen = backend.generate([{"role": "user", "content": "hi"}], schema=None, max_tokens=8, sampling=Sampling())
    backend.close()
    next(guard_run, None)  # the guard's own checks: nothing refused, no socket left open
    assert gen.text == '{"ok": true}'
    assert set(guard.connections) == {("127.0.0.1", port)}
    assert len(fake.chats) == 3  # two probes (the refused open, the guarded one) and the request


def test_a_server_that_goes_away_mid_run_is_replaced_by_the_other() -> None:
    fakes = [FakeServer(slots=1), FakeServer(slots=1)]
    servers = [serve(f) for f in fakes]
    backend = open_http_backend(HttpOptions(tuple(f"http://127.0.0.1:{port}" for _, port in servers)))
    try:
        first, _ = servers[0]
        first.shutdown()
        first.server_close()
        messages = [{"role": "user", "content": f"case {i}"} for i in range(3)]
        texts = [backend.generate([m], schema=None, max_tokens=8, sampling=Sampling()).text for m in messages]
    finally:
        backend.close()
        servers[1][0].shutdown()
        servers[1][0].server_close()
    assert texts == ['{"ok": true}'] * 3
    assert len(fakes[1].chats) == 1 + 3  # its probe, then every request
    assert backend.pool.healthy() == [backend.endpoints[1]]


def test_review_through_a_server_on_the_command_line(monkeypatch: pytest.MonkeyPatch) -> None:
    def answer(body: dict[str, Any]) -> str:
        schema = body["json_schema"]
        return '{"mark": "zq-7"}' if "mark" in schema["properties"] else json.dumps(schema_instance(schema))

    fake = FakeServer(slots=1, n_ctx=8192, answer=answer)
    server, port = serve(fake)
    try:
        monkeypatch.setenv("EVALUATOR_TEST_KEY", "sk-cli-5d1e")
        args = ["review", "-r", str(REQ), "-d", str(DESIGN), "--endpoint", f"http://127.0.0.1:{port}/v1"]
        result = CliRunner().invoke(app, [*args, "--api-key-env", "EVALUATOR_TEST_KEY", "--model", "smollm2"])
    finally:
        server.shutdown()
        server.server_close()
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("#") and "from cache)" in result.output
    assert {h.get("authorization") for h in fake.headers} == {"Bearer sk-cli-5d1e"}
    assert "sk-cli-5d1e" not in result.output
