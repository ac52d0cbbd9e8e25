"""A scripted backend for unit tests and dry runs of everything around the model.

It answers from a list of canned outputs, or from a function of the messages and schema,
and records every call so a test can look at the prompts it was given. It is its own
factory (:class:`~evaluator.backends.base.BackendFactory`): pass it wherever a backend
factory goes. Registered as the ``fake`` backend, it answers every call with
:func:`schema_output`, a valid document for the schema it is given.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from evaluator.backends.base import Generation, MemoryNeeds, Message, ModelInfo, Sampling

Responder = Callable[[list[Message], dict[str, Any]], str]
_TEXT = "Add a dead-letter topic for the credit consumer"


def schema_instance(schema: dict[str, Any], text: str = _TEXT) -> Any:
    """A valid instance of a flat, ref-free JSON schema: the first enum value, the fewest array items.

    Strings are ``text`` (cut to ``maxLength``) with the property name appended, so that
    items of one list differ; raises ``ValueError`` for a type it does not know.
    """
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    if kind == "object":
        return {k: schema_instance(v, f"{text} ({k})") for k, v in schema["properties"].items()}
    if kind == "array":
        return [schema_instance(schema["items"], text) for _ in range(max(1, schema.get("minItems", 0)))]
    if kind == "boolean":
        return True
    if kind == "integer":
        return 7
    if kind == "string":
        return text[: schema.get("maxLength", len(text))]
    raise ValueError(f"schema type not handled by the fake backend: {schema}")


def schema_output(messages: list[Message], schema: dict[str, Any]) -> str:
    """Responder: a valid JSON document for whatever schema it is given."""
    return json.dumps(schema_instance(schema))


@dataclass
class Call:
    """One recorded call to :meth:`FakeBackend.generate`."""

    messages: list[Message]
    schema: dict[str, Any]
    max_tokens: int
    sampling: Sampling


@dataclass
class FakeBackend:
    """Plays back ``script`` (strings or responder functions), one entry per call.

    Tokens are counted as one per four characters. An output longer than ``max_tokens``
    such tokens is cut and reported with ``finish_reason="length"``, as a real model's is.
    ``opened`` counts the times it was opened as a factory.
    """

    script: Iterable[str | Responder]
    n_ctx: int = 8192
    name: str = "fake"
    n_params: int | None = 135_000_000  # like the embedded model: no findings of its own unless asked
    calls: list[Call] = field(default_factory=list)
    opened: int = 0

    def __post_init__(self) -> None:
        self._script = iter(self.script)
        self._lock = threading.Lock()  # a parallel batch calls generate from several threads

    @classmethod
    def answering(cls, responder: Responder = schema_output, **kwargs: Any) -> FakeBackend:
        """A fake that answers every call with ``responder`` (never runs out)."""
        return cls(itertools.repeat(responder), **kwargs)

    @property
    def info(self) -> ModelInfo:
        """A fake model: no digest, this context size."""
        return ModelInfo(self.name, None, self.n_ctx, "fake")

    def model_info(self) -> ModelInfo:
        """As a factory: the same :attr:`info`."""
        return self.info

    def memory(self) -> MemoryNeeds | None:
        """As a factory: nothing to load."""
        return None

    @contextmanager
    def open(self, parallel: int = 1) -> Iterator[FakeBackend]:
        """As a factory: this very object, whatever ``parallel`` is."""
        self.opened += 1
        yield self

    def count_tokens(self, messages: list[Message]) -> int:
        """One token per four characters of content, plus a little per message."""
        return sum(len(m["content"]) // 4 + 4 for m in messages)

    def generate(
        self,
        messages: list[Message],
        *,
        schema: dict[str, Any],
        max_tokens: int,
        sampling: Sampling,
        deadline: float | None = None,
    ) -> Generation:
        """Return the next scripted output."""
        with self._lock:
            self.calls.append(Call(messages, schema, max_tokens, sampling))
            entry = next(self._script, None)
        if entry is None:
            raise AssertionError("FakeBackend ran out of scripted outputs")
        text = entry if isinstance(entry, str) else entry(messages, schema)
        finish = "timeout" if deadline is not None and time.monotonic() > deadline else "stop"
        if len(text) > max_tokens * 4:
            text, finish = text[: max_tokens * 4], "length"
        prompt = self.count_tokens(messages)
        return Generation(text, finish, prompt, 0, len(text) // 4, 0.01)

    def close(self) -> None:
        """Nothing to free."""
