"""A small in-process OpenAI-compatible server for unit tests of the HTTP backend.

It plays llama-server, vLLM, Ollama or a plain OpenAI server through httpx's
``MockTransport``: no socket is opened. Each instance records the requests it got, and
can be told to be down, to ignore schemas, or to answer with an error status.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

Answer = Callable[[dict[str, Any]], str]


def schema_answer(body: dict[str, Any]) -> str:
    """A reply that satisfies the probe schema, else a fixed JSON object."""
    schema = body.get("json_schema") or body.get("format") or body.get("response_format", {}).get("json_schema", {})
    schema = schema.get("schema", schema)
    enum = schema.get("properties", {}).get("mark", {}).get("enum") if isinstance(schema, dict) else None
    return json.dumps({"mark": enum[0]}) if enum else json.dumps({"ok": True})


@dataclass
class FakeServer:
    """One fake endpoint; ``transport`` is what the backend's httpx client talks to."""

    kind: str = "llama-server"
    models: tuple[str, ...] = ("smollm2",)
    meta: dict[str, Any] | None = None  # llama-server's facts about the weights in /v1/models
    n_ctx: int = 4096
    slots: int = 2
    answer: Answer = schema_answer
    ignore_schema: bool = False
    down: bool = False
    status: int | None = None  # answer every chat request with this error status
    error: str = "bad request"
    requests: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    on_chat: Callable[[], None] | None = None  # runs before a chat reply (e.g. to take the server down)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    @property
    def chats(self) -> list[dict[str, Any]]:
        """Bodies of the chat requests received."""
        return [body for _, path, body in self.requests if path in ("/v1/chat/completions", "/api/chat")]

    def transport(self) -> httpx.MockTransport:
        """An httpx transport that routes to this server."""
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        """Answer one request as a server of ``kind`` would."""
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        body = json.loads(request.content) if request.content else {}
        with self._lock:
            self.requests.append((request.method, request.url.path, body))
            self.headers.append(dict(request.headers))
        route = self._routes().get((request.method, request.url.path))
        if route is None:
            return httpx.Response(404, json={"error": {"message": "File Not Found", "code": 404}})
        return route(body)

    def _routes(self) -> dict[tuple[str, str], Callable[[dict[str, Any]], httpx.Response]]:
        routes = {("GET", "/v1/models"): self._models, ("POST", "/v1/chat/completions"): self._chat}
        if self.kind == "llama-server":
            routes |= {
                ("GET", "/props"): self._props,
                ("POST", "/apply-template"): lambda b: _ok({"prompt": "".join(m["content"] for m in b["messages"])}),
                ("POST", "/tokenize"): lambda b: _ok({"tokens": list(range(len(b["content"].split())))}),
            }
        elif self.kind == "vllm":
            routes |= {
                ("GET", "/version"): lambda b: _ok({"version": "0.9.2"}),
                ("POST", "/tokenize"): lambda b: _ok({"count": sum(len(m["content"].split()) for m in b["messages"])}),
            }
        elif self.kind == "ollama":
            routes |= {("GET", "/api/version"): lambda b: _ok({"version": "0.12.0"}), ("POST", "/api/chat"): self._chat}
        return routes

    def _props(self, body: dict[str, Any]) -> httpx.Response:
        return _ok(
            {
                "total_slots": self.slots,
                "default_generation_settings": {"n_ctx": self.n_ctx},
                "build_info": "b7000-0c1e570",
            }
        )

    def _models(self, body: dict[str, Any]) -> httpx.Response:
        entries: list[dict[str, Any]] = [{"id": m, "object": "model"} for m in self.models]
        if self.meta is not None:
            for entry in entries:
                entry["meta"] = self.meta
        if self.kind == "vllm":
            for entry in entries:
                entry["max_model_len"] = self.n_ctx
        return _ok({"object": "list", "data": entries})

    def _chat(self, body: dict[str, Any]) -> httpx.Response:
        if self.on_chat:
            self.on_chat()
        if self.down:
            raise httpx.RemoteProtocolError("server disconnected without sending a response")
        if self.status:
            return httpx.Response(self.status, json={"error": {"message": self.error, "code": self.status}})
        text = "Hello there!" if self.ignore_schema else self.answer(body)
        if self.kind == "ollama":
            return _ok(
                {
                    "message": {"role": "assistant", "content": text},
                    "done_reason": "stop",
                    "prompt_eval_count": 30,
                    "eval_count": 5,
                    "prompt_eval_duration": 250_000_000,
                }
            )
        reply: dict[str, Any] = {
            "choices": [{"message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 30, "completion_tokens": 5},
        }
        if self.kind == "llama-server":
            reply["timings"] = {"cache_n": 12, "prompt_ms": 150.0}
        else:
            reply["usage"]["prompt_tokens_details"] = {"cached_tokens": 10}
        return _ok(reply)


def _ok(data: Any) -> httpx.Response:
    return httpx.Response(200, json=data)


def transports(servers: dict[str, FakeServer]) -> Callable[[str], httpx.BaseTransport]:
    """The ``transport`` argument of ``open_http_backend`` for servers keyed by URL."""
    return lambda url: servers[url].transport()
