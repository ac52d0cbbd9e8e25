"""The seam between the review pipeline and a model: one small method, ``generate``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from evaluator.review.record import Usage

# One chat message: {"role": "system" | "user" | "assistant", "content": ...}.
Message = dict[str, str]


@dataclass(frozen=True)
class Sampling:
    """How tokens are picked. The defaults are deterministic (greedy, fixed seed)."""

    temperature: float = 0.0
    seed: int = 42
    repeat_penalty: float = 1.1


@dataclass(frozen=True)
class Generation:
    """What one call to the model produced, and what it cost."""

    text: str
    finish_reason: str
    prompt_tokens: int
    cached_tokens: int
    completion_tokens: int
    seconds: float
    prompt_seconds: float = 0.0  # the part of ``seconds`` spent evaluating the prompt

    @property
    def usage(self) -> Usage:
        """The cost of this call as a :class:`Usage`."""
        return Usage(
            prompt_tokens=self.prompt_tokens,
            cached_tokens=self.cached_tokens,
            completion_tokens=self.completion_tokens,
            seconds=self.seconds,
            prompt_seconds=self.prompt_seconds,
        )


@dataclass(frozen=True)
class ModelInfo:
    """What answers the prompts: recorded with every run and part of every batch cache key."""

    name: str
    digest: str | None  # sha256 of the weights where known (a local GGUF); None when a server does not say
    n_ctx: int  # context tokens per sequence
    kind: str  # the backend: "llama-cpp", "fake", "llama-server"...
    version: str | None = None  # the runtime's version (llama-cpp-python's, a server's build)


@dataclass(frozen=True)
class MemoryNeeds:
    """Memory a local backend needs on this machine, in bytes, before it is loaded."""

    model_bytes: int  # the weights
    slot_bytes: int  # one sequence slot's KV cache at the backend's context size


class Backend(Protocol):
    """A loaded model that turns chat messages into JSON constrained by a schema."""

    name: str
    n_ctx: int
    # Optionally ``n_params: int | None``: the model's parameter count, where the backend knows it
    # (the reviewer asks models of 1B parameters or more for findings of their own).

    @property
    def info(self) -> ModelInfo:
        """The model behind this backend."""
        ...

    def count_tokens(self, messages: list[Message]) -> int:
        """Tokens the prompt for these messages takes, chat template included."""
        ...

    def generate(
        self,
        messages: list[Message],
        *,
        schema: dict[str, Any],
        max_tokens: int,
        sampling: Sampling,
        deadline: float | None = None,
    ) -> Generation:
        """Generate one JSON document that follows ``schema``.

        ``finish_reason`` is "stop", "length" (cut off at ``max_tokens``), "loop" (stopped
        while repeating one short block) or "timeout" (the ``time.monotonic()``
        ``deadline`` passed; checked between tokens).
        """
        ...

    def close(self) -> None:
        """Free the model."""
        ...


class BackendFactory(Protocol):
    """Opens a backend when one is needed, and says what it would open before that.

    The batch asks :meth:`model_info` for its cache key and :meth:`memory` for its capacity
    plan, and opens the backend only when something needs reviewing.
    """

    def model_info(self) -> ModelInfo:
        """The model :meth:`open` would load; may locate and hash it, never loads it."""
        ...

    def memory(self) -> MemoryNeeds | None:
        """What one sequence slot and the weights take in this process; None: nothing here (a server)."""
        ...

    def open(self, parallel: int = 1) -> AbstractContextManager[Backend]:
        """A backend serving ``parallel`` calls at once, freed when the context exits.

        Raises :class:`~evaluator.errors.ModelError` when it cannot be loaded.
        """
        ...


@runtime_checkable
class ServerSlots(Protocol):
    """A factory whose backend runs on servers: a batch runs as many cases at once as they have slots."""

    def slots(self) -> int:
        """Requests the servers take at once, all together."""
        ...


@dataclass
class Opened:
    """A factory over a backend that is already open: :meth:`open` gives it back and leaves it open.

    For callers that keep one model loaded across several reviews or batches (a service, a
    test session). ``memory`` is what the backend's own factory reported, if known.
    """

    backend: Backend
    needs: MemoryNeeds | None = None

    def model_info(self) -> ModelInfo:
        """The open backend's :attr:`Backend.info`."""
        return self.backend.info

    def memory(self) -> MemoryNeeds | None:
        """What the backend's own factory reported (None: unknown)."""
        return self.needs

    @contextmanager
    def open(self, parallel: int = 1) -> Iterator[Backend]:
        """The open backend, whatever ``parallel`` is (its slots were fixed when it was opened)."""
        yield self.backend


DEFAULT_BACKEND = "llama-cpp"


@dataclass(frozen=True)
class ModelOptions:
    """Which backend and model to use, and how: what the user chose, nothing resolved yet."""

    model: str | None = None  # a manifest name, a name in ./models, or a .gguf path (llama-cpp)
    n_ctx: int | None = None  # context tokens per sequence; None: the model's own
    threads: int | None = None  # CPU threads (llama-cpp); None: half the CPUs
    backend: str = DEFAULT_BACKEND
    n_gpu_layers: int = 0  # layers offloaded to a GPU build of llama.cpp (llama-cpp); -1: all
    endpoints: tuple[str, ...] = ()  # OpenAI-compatible server URLs (openai)
    api_key_env: str | None = None  # the environment variable holding the servers' API key (openai)
    allow_remote: bool = False  # endpoints off this machine are refused unless this is set (openai)
    trust_env: bool = False  # follow proxy variables for the endpoints (openai)
    slots: int | None = None  # requests per endpoint where the server does not say (openai)
    min_ctx: int = 0  # a server with a smaller context per request is refused before any review (openai)
