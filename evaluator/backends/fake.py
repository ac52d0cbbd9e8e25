"""A scripted backend for unit tests of everything around the model.

It answers from a list of canned outputs, or from a function of the messages and schema,
and records every call so a test can look at the prompts it was given.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from evaluator.backends.base import Generation, Sampling
from evaluator.prompts import Message

Responder = Callable[[list[Message], dict[str, Any]], str]


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
    """

    script: Iterable[str | Responder]
    n_ctx: int = 8192
    name: str = "fake"
    calls: list[Call] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._script = iter(self.script)
        self._lock = threading.Lock()  # a parallel batch calls generate from several threads

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
