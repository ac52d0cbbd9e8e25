"""The seam between the review pipeline and a model: one small method, ``generate``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from evaluator.prompts import Message
from evaluator.review import Usage


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


class Backend(Protocol):
    """A loaded model that turns chat messages into JSON constrained by a schema."""

    name: str
    n_ctx: int

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
