"""The HTTP backend: one or more OpenAI-compatible servers (llama-server, vLLM, Ollama, …).

Opening it checks every endpoint before any case is reviewed — reachable, serving the
model asked for, honouring a JSON schema (a probe request whose answer only a schema can
force), with a context large enough — and fails with one line otherwise. Requests then go
through an :class:`~evaluator.backends.pool.EndpointPool`: as many at once as the servers
have slots, to the server that most likely has the prompt's prefix cached, and to another
server when one stops answering. Only the named endpoints are ever contacted; an API key
is read from an environment variable and never appears in a message.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from evaluator.backends.base import Generation, Message, ModelInfo, Sampling
from evaluator.backends.endpoint import (
    DeadlineReached,
    Endpoint,
    EndpointDown,
    ServerRefused,
    TransportFactory,
    check_url,
    context_error,
    elapsed_since,
    open_client,
)
from evaluator.backends.pool import EndpointPool, NoEndpoint, PoolClosed, Slot
from evaluator.backends.probe import probe_endpoint, served_name
from evaluator.errors import ContextError, GenerationError, ModelError

DEFAULT_REQUEST_TIMEOUT_S = 900.0
DEFAULT_OUTAGE_S = 300.0
_TOKEN_CACHE = 4096


@dataclass(frozen=True)
class HttpOptions:
    """Which servers to use and how.

    ``model`` is the server's model id (None: the one model the servers serve). ``slots``
    is the requests each endpoint takes at once when the server does not say (llama-server
    does). ``outage_s`` is how long a request waits for some endpoint to answer again
    before its case fails.
    """

    endpoints: tuple[str, ...]
    model: str | None = None
    api_key_env: str | None = None
    allow_remote: bool = False
    trust_env: bool = False
    n_ctx: int | None = None
    slots: int | None = None
    request_timeout_s: float = DEFAULT_REQUEST_TIMEOUT_S
    outage_s: float = DEFAULT_OUTAGE_S
    min_ctx: int = 0  # the smallest context per request a review can use; a server with less is refused

    def api_key(self) -> str:
        """The key from the named environment variable ('' when none is named)."""
        if not self.api_key_env:
            return ""
        key = os.environ.get(self.api_key_env, "")
        if not key:
            raise ModelError(
                f"the environment variable {self.api_key_env}, named for the API key, is not set",
                settings=("api_key_env",),
            )
        return key


@dataclass(frozen=True)
class _Request:
    messages: list[Message]
    schema: dict[str, Any] | None
    max_tokens: int
    sampling: Sampling
    deadline: float | None


class OpenAIBackend:
    """Several servers as one :class:`~evaluator.backends.base.Backend`; build it with :func:`open_http_backend`."""

    def __init__(self, endpoints: list[Endpoint], options: HttpOptions) -> None:
        if not endpoints:
            raise ModelError("no endpoint given")
        first = endpoints[0]
        self.name = served_name(first.model)  # recorded with runs and reviews: no path of the server's machine
        self.n_ctx = min(e.n_ctx for e in endpoints)
        self.kind = first.kind
        self.version = first.version
        self.digest = first.digest if all(e.digest == first.digest for e in endpoints) else None
        self.n_params = first.n_params  # None when the server does not say: the reviewer then asks it more
        self.options = options
        self.pool: EndpointPool[Endpoint] = EndpointPool(endpoints, [e.slots for e in endpoints])
        self.parallel = self.pool.total_slots
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    @property
    def info(self) -> ModelInfo:
        """The served model: its id, digest where the server gives one, context, server kind and version."""
        return ModelInfo(name=self.name, digest=self.digest, n_ctx=self.n_ctx, kind=self.kind, version=self.version)

    @property
    def endpoints(self) -> list[Endpoint]:
        """The servers, in the order given."""
        return self.pool.targets

    def count_tokens(self, messages: list[Message]) -> int:
        """Prompt tokens, chat template included (llama-server, vLLM: the server's own count; else an estimate)."""
        key = json.dumps(messages, sort_keys=True)
        with self._lock:
            if key in self._counts:
                return self._counts[key]
        problems = []
        for endpoint in self.pool.healthy() or self.endpoints:
            try:
                count = endpoint.count_tokens(messages)
            except (EndpointDown, DeadlineReached) as exc:
                problems.append(f"{endpoint.url}: {exc}")
                continue
            except ServerRefused as exc:
                raise ModelError(f"{endpoint.describe()} could not count tokens: {exc.message}") from None
            with self._lock:
                if len(self._counts) >= _TOKEN_CACHE:
                    self._counts.clear()
                self._counts[key] = count
            return count
        raise ModelError(f"no endpoint answered a token count ({'; '.join(problems)})")

    def generate(
        self,
        messages: list[Message],
        *,
        schema: dict[str, Any] | None,
        max_tokens: int,
        sampling: Sampling,
        deadline: float | None = None,
    ) -> Generation:
        """One schema-constrained reply from whichever endpoint can take it; see :class:`Backend`.

        A request that fails for a transport reason is sent to another endpoint (or the same
        one once it answers again). Raises ModelError when no endpoint answered for
        ``outage_s``, ContextError when the server says the prompt does not fit.
        """
        prompt = "\n".join(m["content"] for m in messages)
        request = _Request(messages, schema, max_tokens, sampling, deadline)
        outage_ends = time.monotonic() + self.options.outage_s
        problem = "none was usable"
        while True:
            if deadline is not None and time.monotonic() >= deadline:
                return Generation("", "timeout", 0, 0, 0, 0.0)
            try:
                slot = self.pool.acquire(prompt, min(outage_ends, deadline or outage_ends))
            except PoolClosed:
                raise ModelError("the backend was closed while a request waited for an endpoint") from None
            except NoEndpoint:
                if deadline is not None and time.monotonic() >= deadline:
                    return Generation("", "timeout", 0, 0, 0, 0.0)
                raise ModelError(
                    f"no endpoint answered for {self.options.outage_s:g} s (last problem: {problem})"
                ) from None
            result = self._send(slot, request)
            if isinstance(result, Generation):
                return result
            problem = result

    def _send(self, slot: Slot[Endpoint], request: _Request) -> Generation | str:
        """One attempt on one endpoint: the generation, or why the endpoint failed (try another)."""
        endpoint, started = slot.target, time.perf_counter()
        timeout = self.options.request_timeout_s
        if request.deadline is not None:
            timeout = max(0.001, min(timeout, request.deadline - time.monotonic()))
        try:
            reply = endpoint.chat(
                request.messages,
                schema=request.schema,
                max_tokens=request.max_tokens,
                sampling=request.sampling,
                timeout=timeout,
            )
        except EndpointDown as exc:
            self.pool.failed(slot)
            return f"{endpoint.url}: {exc}"
        except DeadlineReached as exc:
            if request.deadline is not None and time.monotonic() >= request.deadline - 0.01:
                self.pool.released(slot)
                return Generation("", "timeout", 0, 0, 0, elapsed_since(started))
            self.pool.failed(slot)  # no answer within the request timeout: a stuck server
            return f"{endpoint.url}: no answer within {timeout:g} s ({exc})"
        except ServerRefused as exc:
            self.pool.succeeded(slot)  # it answered, so it is up
            raise _refusal(endpoint, exc) from None
        self.pool.succeeded(slot)
        return Generation(
            reply.text,
            reply.finish_reason,
            reply.prompt_tokens,
            reply.cached_tokens,
            reply.completion_tokens,
            elapsed_since(started),
            reply.prompt_seconds,
        )

    def close(self) -> None:
        """Wake any request waiting for an endpoint and close every connection."""
        self.pool.close()
        for endpoint in self.endpoints:
            endpoint.close()


def _refusal(endpoint: Endpoint, exc: ServerRefused) -> Exception:
    text = f"{endpoint.describe()} refused the request (status {exc.status}): {exc.message}"
    if "context" in exc.message.lower() and exc.status == 400:
        return ContextError(text)
    if exc.status in (401, 403):
        return ModelError(f"{endpoint.describe()} refused the API key (status {exc.status})")
    return GenerationError(text)


def open_http_backend(
    options: HttpOptions, *, required_ctx: int = 0, transport: TransportFactory | None = None
) -> OpenAIBackend:
    """Check every endpoint (see the module docstring) and return the backend over all of them.

    ``required_ctx`` is the smallest context per request a review can work with.
    ``transport`` builds the httpx transport per URL (tests pass a fake server).
    Raises ModelError (unreachable, unknown model, no schema support, remote not allowed)
    or ContextError.
    """
    urls = [check_url(url, allow_remote=options.allow_remote) for url in options.endpoints]
    if len(set(urls)) < len(urls):
        raise ModelError("the same endpoint is named twice", settings=("endpoints",))
    key = options.api_key()
    endpoints: list[Endpoint] = []
    try:
        for url in urls:
            client = open_client(url, api_key=key, trust_env=options.trust_env, transport=transport)
            endpoint = Endpoint(url, client, secret=key)
            endpoints.append(endpoint)
            probe_endpoint(endpoint, options.model, n_ctx=options.n_ctx, slots=options.slots)
            if endpoint.n_ctx < required_ctx:
                raise context_error(endpoint, required_ctx)
        models = {e.model for e in endpoints}
        if len(models) > 1:
            raise ModelError(
                f"the endpoints serve different models ({', '.join(sorted(models))}) — name one model",
                settings=("model",),
            )
        return OpenAIBackend(endpoints, options)
    except BaseException:
        for endpoint in endpoints:
            endpoint.close()
        raise


class HttpFactory:
    """The :class:`~evaluator.backends.base.BackendFactory` of the HTTP backend.

    The endpoints are probed once, the first time the model is asked about or opened, and
    the same connections serve the run; ``open`` closes them when its context exits.
    """

    def __init__(self, options: HttpOptions, transport: TransportFactory | None = None) -> None:
        self.options = options
        self._transport = transport
        self._backend: OpenAIBackend | None = None

    def backend(self) -> OpenAIBackend:
        """The probed backend (probing on first use; raises ModelError or ContextError)."""
        if self._backend is None:
            self._backend = open_http_backend(
                self.options, required_ctx=self.options.min_ctx, transport=self._transport
            )
        return self._backend

    def model_info(self) -> ModelInfo:
        """What the servers serve; probes them the first time."""
        return self.backend().info

    def memory(self) -> None:
        """Nothing is loaded in this process."""
        return None

    def slots(self) -> int:
        """Requests the servers take at once, all together (the batch's parallelism)."""
        return self.backend().parallel

    @contextmanager
    def open(self, parallel: int = 1) -> Iterator[OpenAIBackend]:
        """The backend over every endpoint; ``parallel`` is not needed (the servers' slots decide)."""
        backend = self.backend()
        try:
            yield backend
        finally:
            backend.close()
            self._backend = None


__all__ = ["ContextError", "HttpFactory", "HttpOptions", "OpenAIBackend", "open_http_backend"]
