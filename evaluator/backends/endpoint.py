"""One OpenAI-compatible server: what it is, what it serves, and one request to it.

The client is httpx with its own retries for failed connections; proxy variables are not
followed unless asked (``trust_env``). What the server is comes from the paths only it
answers: llama-server's ``/props``, Ollama's ``/api/version``, vLLM's ``/version``.
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from evaluator.backends.base import Message, Sampling
from evaluator.backends.dialects import Reply, ServerKind, chat_request, error_message, parse_reply
from evaluator.errors import ContextError, ModelError

TransportFactory = Callable[[str], httpx.BaseTransport]

_CONNECT_RETRIES = 2
_CONNECT_TIMEOUT_S = 5.0
_INFO_TIMEOUT_S = 30.0
# Servers that cannot tokenize: an estimate on the high side (one token per 3 UTF-8 bytes,
# plus the chat template's tokens per message), so that a prompt planned to fit does fit.
_BYTES_PER_TOKEN = 3
_TOKENS_PER_MESSAGE = 8
_TRANSIENT_STATUS = {408, 429, 502, 503, 504}


class EndpointDown(Exception):
    """The server did not answer (connection refused or dropped, or a busy/loading status)."""


class DeadlineReached(Exception):
    """The caller's deadline passed before the server answered."""


class ServerRefused(Exception):
    """The server answered with an error status; ``status`` and ``message`` say which."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def check_url(url: str, *, allow_remote: bool) -> str:
    """Normalise an endpoint URL (no trailing ``/`` or ``/v1``); refuse non-loopback unless allowed."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ModelError(f"endpoint '{url}' is not an http:// or https:// URL with a host", settings=("endpoints",))
    host = parts.hostname
    if not allow_remote and not _loopback(host):
        raise ModelError(
            f"endpoint '{url}' is not on this machine — only loopback endpoints are contacted "
            "unless remote ones are allowed explicitly",
            settings=("allow_remote",),
        )
    path = parts.path.rstrip("/")
    path = path.removesuffix("/v1")
    return f"{parts.scheme}://{parts.netloc}{path}"


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class Endpoint:
    """A server and the model it serves; built by :func:`connect`."""

    url: str
    client: httpx.Client
    kind: ServerKind = "openai"
    version: str = ""
    model: str = ""
    n_ctx: int = 0
    slots: int = 1
    digest: str | None = None
    n_params: int | None = None  # the model's parameter count, where the server says (llama-server's meta)
    secret: str = field(default="", repr=False)

    def describe(self) -> str:
        """'llama-server b1234 at http://127.0.0.1:8080' for messages."""
        version = f" {self.version}" if self.version else ""
        return f"{self.kind}{version} at {self.url}"

    def call(self, method: str, path: str, *, json: Any = None, timeout: float | None = None) -> Any:
        """One request; the decoded JSON reply. Raises EndpointDown, DeadlineReached or ServerRefused."""
        limit = httpx.Timeout(timeout or _INFO_TIMEOUT_S, connect=min(_CONNECT_TIMEOUT_S, timeout or _INFO_TIMEOUT_S))
        try:
            response = self.client.request(method, path, json=json, timeout=limit)
        except (httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise EndpointDown(self._scrub(f"{type(exc).__name__}: {exc}")) from None
        except httpx.TimeoutException as exc:  # the server took the request but did not answer in time
            raise DeadlineReached(self._scrub(str(exc) or type(exc).__name__)) from None
        except httpx.TransportError as exc:
            raise EndpointDown(self._scrub(f"{type(exc).__name__}: {exc}")) from None
        try:
            data = response.json()
        except ValueError:
            data = None
        if response.status_code in _TRANSIENT_STATUS or (response.status_code >= 500 and data is None):
            raise EndpointDown(f"status {response.status_code}: {self._message(data, response)}")
        if response.is_error:
            raise ServerRefused(response.status_code, self._message(data, response))
        if data is None:
            raise ServerRefused(response.status_code, "the reply is not JSON")
        return data

    def _message(self, data: Any, response: httpx.Response) -> str:
        fallback = response.reason_phrase or f"status {response.status_code}"
        return self._scrub(error_message(data, fallback))[:300]

    def _scrub(self, text: str) -> str:
        """Never let the API key reach a message (a server may echo a request back)."""
        return text.replace(self.secret, "***") if self.secret else text

    def chat(
        self,
        messages: list[Message],
        *,
        schema: dict[str, Any] | None,
        max_tokens: int,
        sampling: Sampling,
        timeout: float,
    ) -> Reply:
        """One schema-constrained chat completion (see :mod:`evaluator.backends.dialects`)."""
        path, body = chat_request(
            self.kind, self.model, messages, schema=schema, max_tokens=max_tokens, sampling=sampling, n_ctx=self.n_ctx
        )
        data = self.call("POST", path, json=body, timeout=timeout)
        try:
            return parse_reply(self.kind, data)
        except ValueError as exc:
            raise ServerRefused(200, f"unexpected reply from {self.describe()}: {exc}") from None

    def count_tokens(self, messages: list[Message]) -> int:
        """Prompt tokens, chat template included: the server's tokenizer where it has one, else an estimate."""
        if self.kind == "llama-server":
            prompt = self.call("POST", "/apply-template", json={"messages": messages})["prompt"]
            reply = self.call("POST", "/tokenize", json={"content": prompt, "add_special": True})
            return len(reply["tokens"])
        if self.kind == "vllm":
            return int(self.call("POST", "/tokenize", json={"model": self.model, "messages": messages})["count"])
        return estimate_tokens(messages)

    def close(self) -> None:
        """Close the connections."""
        self.client.close()


def estimate_tokens(messages: list[Message]) -> int:
    """An upper-side estimate for servers without a tokenizer endpoint (see the constants)."""
    return sum(math.ceil(len(m["content"].encode("utf-8")) / _BYTES_PER_TOKEN) + _TOKENS_PER_MESSAGE for m in messages)


def open_client(url: str, *, api_key: str, trust_env: bool, transport: TransportFactory | None) -> httpx.Client:
    """An httpx client for one endpoint: connection retries, no proxies unless ``trust_env``."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    return httpx.Client(
        base_url=url,
        headers=headers,
        trust_env=trust_env,
        follow_redirects=False,  # a redirect could lead to an address nobody named
        transport=transport(url) if transport else httpx.HTTPTransport(retries=_CONNECT_RETRIES, trust_env=trust_env),
        limits=httpx.Limits(max_connections=64, max_keepalive_connections=64),
    )


def elapsed_since(start: float) -> float:
    """Seconds since ``start`` (``time.perf_counter()``)."""
    return time.perf_counter() - start


def context_error(endpoint: Endpoint, needed: int) -> ContextError:
    """The one-line error for a server whose context per request is smaller than a review needs."""
    return ContextError(
        f"{endpoint.describe()} gives each request a {endpoint.n_ctx}-token context; a review needs at least "
        f"{needed} — start the server with a larger context per slot (llama-server: -c is shared by its -np slots)"
    )
