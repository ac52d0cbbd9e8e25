"""`python -m tests.support.slow_batch FOLDER DB SECONDS`: the real `evaluator batch` CLI with a slow fake model.

The fake answers each review after SECONDS, like a (very fast) real model, so a test can
read the store while the batch writes it, and kill the batch mid-run.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from evaluator.backends import register_backend
from evaluator.backends.fake import FakeBackend, schema_output
from evaluator.cli.main import main


def _slow(delay: float) -> Any:
    def respond(messages: list[dict[str, str]], schema: dict[str, Any]) -> str:
        time.sleep(delay)
        return schema_output(messages, schema)  # type: ignore[arg-type]

    return respond


if __name__ == "__main__":
    folder, db, delay = sys.argv[1], sys.argv[2], float(sys.argv[3])
    register_backend("slow", lambda options: FakeBackend.answering(_slow(delay)))
    sys.argv = ["evaluator", "batch", folder, "--db", db, "--backend", "slow", "--parallel", "1"]
    main()
