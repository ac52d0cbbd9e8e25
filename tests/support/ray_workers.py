"""Backends for the Ray tests, importable by Ray's worker processes (they run in other processes).

A Ray actor opens its backend from a picklable opener; ``functools.partial(fake, ...)`` of
this module's function is one. The fake answers every call with a valid document and can
log who reviewed which case, die once in the middle of a case, or die on every try of one.
Cases are told apart by a ``CASE-<tag>`` word their design carries into the prompt.
"""

from __future__ import annotations

import os
import re
import time
from functools import partial
from pathlib import Path
from typing import Any

from evaluator.backends.base import Message
from evaluator.backends.fake import FakeBackend, schema_output

_TAG = re.compile(r"CASE-(\w+)")


def fake(
    log: str | None = None, kill_once: str | None = None, poison: str | None = None, delay: float = 0.0
) -> FakeBackend:
    """A fake whose calls append ``<pid> <tag>`` to ``log``.

    ``kill_once``: a file path; the first call for a ``KILL`` case writes its pid there and
    ends the process mid-case. ``poison``: a file; every call for a ``POISON`` case appends
    its pid there and ends the process. ``delay``: seconds each call takes (a slow model).
    """
    return FakeBackend.answering(partial(_respond, log, kill_once, poison, delay))


def _respond(
    log: str | None,
    kill_once: str | None,
    poison: str | None,
    delay: float,
    messages: list[Message],
    schema: dict[str, Any],
) -> str:
    time.sleep(delay)
    text = "".join(m["content"] for m in messages)
    tag = match.group(1) if (match := _TAG.search(text)) else "?"
    if kill_once and "KILL" in tag and not Path(kill_once).exists():
        Path(kill_once).write_text(str(os.getpid()))
        os._exit(1)  # the worker process dies in the middle of the case, as on an OOM kill
    if poison and "POISON" in tag:
        with open(poison, "a") as f:
            f.write(f"{os.getpid()}\n")
        os._exit(1)
    if log:
        with open(log, "a") as f:
            f.write(f"{os.getpid()} {tag}\n")
    return schema_output(messages, schema)
