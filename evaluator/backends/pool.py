"""Several servers as one backend: slots, failover, and prompt-prefix affinity.

Each endpoint takes as many requests at once as it has slots. A request goes to the free
endpoint whose recent prompts share the longest prefix with it, so cases with the same
instructions and requirements land where that prefix is already in the prompt cache. An
endpoint that fails for a transport reason is set aside for a while (doubling, up to a
minute) and then given one request to prove itself; while none is usable, callers wait.
Thread-safe: the batch's worker threads call :meth:`EndpointPool.acquire` concurrently.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")

_FIRST_BACKOFF_S = 2.0
_MAX_BACKOFF_S = 60.0
_REMEMBERED_PROMPTS = 8
_COMPARED_CHARS = 32_768  # prefixes beyond this length all count as "long"
_common_prefix = os.path.commonprefix  # character by character: right for prompts, wrong for paths


class PoolClosed(Exception):
    """The pool was closed while a caller waited for an endpoint."""


class NoEndpoint(Exception):
    """Every endpoint stayed unusable until the caller's wait ended."""


@dataclass
class Slot(Generic[T]):
    """One endpoint's state in the pool; ``target`` is what the caller talks to."""

    target: T
    slots: int
    in_flight: int = 0
    down_until: float = 0.0  # time.monotonic(); 0: healthy
    backoff: float = 0.0
    probing: bool = False  # one request is testing an endpoint that was set aside
    recent: deque[str] = field(default_factory=lambda: deque(maxlen=_REMEMBERED_PROMPTS))

    def usable(self, now: float) -> bool:
        """Whether a new request may go here now."""
        if self.down_until == 0.0:
            return self.in_flight < self.slots
        return now >= self.down_until and not self.probing

    def affinity(self, head: str, common: int) -> int:
        """Characters beyond ``common`` of the longest prefix ``head`` shares with a prompt sent here lately."""
        return max((len(_common_prefix([head, p])) - common for p in self.recent), default=0)


class EndpointPool(Generic[T]):
    """Hands out endpoints (``targets``) with their slot counts; see the module docstring."""

    def __init__(self, targets: Sequence[T], slots: Sequence[int]) -> None:
        self._slots = [Slot(t, max(1, n)) for t, n in zip(targets, slots, strict=True)]
        self._cond = threading.Condition()
        self._closed = False
        self._common: str | None = None  # the prefix every prompt so far shared (the instructions)

    @property
    def total_slots(self) -> int:
        """Requests the pool runs at once when every endpoint is up."""
        return sum(s.slots for s in self._slots)

    @property
    def targets(self) -> list[T]:
        """Every endpoint, in the order given."""
        return [s.target for s in self._slots]

    def acquire(self, prompt: str, wait_until: float | None = None) -> Slot[T]:
        """Block until an endpoint can take ``prompt``; raise NoEndpoint at ``wait_until``."""
        with self._cond:
            while True:
                if self._closed:
                    raise PoolClosed
                now, head = time.monotonic(), prompt[:_COMPARED_CHARS]
                slot = self._pick(head, now)
                if slot is not None:
                    slot.in_flight += 1
                    slot.probing = slot.down_until != 0.0
                    slot.recent.append(head)
                    return slot
                if wait_until is not None and now >= wait_until:
                    raise NoEndpoint
                self._cond.wait(timeout=self._next_wake(now, wait_until))

    def _pick(self, head: str, now: float) -> Slot[T] | None:
        usable = [s for s in self._slots if s.usable(now)]
        if not usable:
            return None
        # What every prompt shares (the instructions) is cached everywhere: only a longer
        # shared prefix (the same requirements) is a reason to prefer an endpoint.
        self._common = head if self._common is None else _common_prefix([self._common, head])
        common = len(self._common)
        # Longest shared prefix first, then the least busy; a recovering endpoint only when needed.
        return max(usable, key=lambda s: (s.down_until == 0.0, s.affinity(head, common), s.slots - s.in_flight))

    def _next_wake(self, now: float, wait_until: float | None) -> float:
        times = [s.down_until for s in self._slots if s.down_until > now]
        if wait_until is not None:
            times.append(wait_until)
        return max(0.01, min(times) - now) if times else 1.0

    def succeeded(self, slot: Slot[T]) -> None:
        """The request answered: free its slot; an endpoint that was set aside is back."""
        with self._cond:
            slot.in_flight -= 1
            slot.probing, slot.down_until, slot.backoff = False, 0.0, 0.0
            self._cond.notify_all()

    def failed(self, slot: Slot[T]) -> None:
        """The endpoint did not answer: free the slot and set the endpoint aside for a while."""
        with self._cond:
            slot.in_flight -= 1
            slot.probing = False
            slot.backoff = min(_MAX_BACKOFF_S, slot.backoff * 2 or _FIRST_BACKOFF_S)
            slot.down_until = time.monotonic() + slot.backoff
            self._cond.notify_all()

    def released(self, slot: Slot[T]) -> None:
        """The request ended for a reason that says nothing about the endpoint's health."""
        with self._cond:
            slot.in_flight -= 1
            slot.probing = False
            self._cond.notify_all()

    def healthy(self) -> list[T]:
        """Endpoints not set aside right now, in the order given."""
        with self._cond:
            return [s.target for s in self._slots if s.down_until == 0.0]

    def close(self) -> None:
        """Wake every waiting caller with :class:`PoolClosed`."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
