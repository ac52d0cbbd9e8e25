"""A sample dataset reviewed, revised and reviewed again: the lifecycle, baseline and waiver scenario.

The designs are copies of ``datasets/parcel-delivery`` in a temporary folder; the copies are
edited, never the dataset. Each edit asserts that the text it changes is still there, so a
change to the dataset fails here with the reason rather than as a wrong count elsewhere.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from evaluator.backends.fake import FakeBackend
from evaluator.batch import BatchOptions, run_batch
from evaluator.batch.cases import discover
from tests.support.data import DATASETS

SAMPLE = DATASETS / "parcel-delivery"
FIXED = "sync-webhooks/tech-design.md"  # its revision sets timeouts: one finding resolved
INTRODUCED = "publish-after-commit/tech-design.md"  # its revision logs request bodies: one finding new
MOVED = "race-and-index/tech-design.md"  # its revision moves the sections around: nothing changes
FIXED_TITLE = "Calls to external systems have no timeout, bounded retry or circuit breaker"
INTRODUCED_TITLE = "Personal data is written to the logs"


@dataclass(frozen=True)
class Revised:
    """The store after two batches, and a copy of it taken between them (the baseline)."""

    folder: Path
    db: Path
    before: Path


def review(folder: Path, db: Path) -> None:
    """One batch over ``folder`` with the fake backend (cases already reviewed are skipped)."""
    summary = run_batch(discover(folder), BatchOptions(db=db), backend=FakeBackend.answering())
    assert summary.count("failed") == 0, [o.message for o in summary.outcomes]


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{path.name}: the sample changed, the revision no longer applies: {old[:60]!r}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def fix_timeouts(design: Path) -> None:
    """Give the external calls timeouts, and drop the paragraph that disables them on purpose."""
    _edit(design, "httpx.AsyncClient(timeout=None)   # partner APIs are slow at peak; don't cut them off",
          "httpx.AsyncClient(timeout=httpx.Timeout(5.0))")  # fmt: skip
    _edit(design, "base_url=settings.sms_url, timeout=None)", "base_url=settings.sms_url, timeout=httpx.Timeout(5.0))")
    _edit(design, "The timeouts are disabled on purpose: during the evening batch the partner APIs\n"
          "sometimes take 20–30 seconds, and a timeout would just make us fail an event that would have\n"
          "succeeded. ", "")  # fmt: skip


def log_bodies(design: Path) -> None:
    """Add a sentence that logs whole request bodies."""
    anchor = "inside the same transaction as its side effect.\n"
    _edit(design, anchor, anchor + "For support, the notifier logs the full request body of every message it sends.\n")


def move_sections(design: Path) -> None:
    """The same lines, with the design's ## sections in reverse order."""
    head, *sections = re.split(r"(?m)^(?=## )", design.read_text(encoding="utf-8"))
    design.write_text(head + "".join(reversed([s.rstrip("\n") + "\n\n" for s in sections])), encoding="utf-8")


def revised_store(root: Path) -> Revised:
    """Review the sample, keep a copy of the store, revise three designs, review again."""
    folder, db, before = root / "designs", root / "evaluator.duckdb", root / "before.duckdb"
    shutil.copytree(SAMPLE, folder)
    review(folder, db)
    shutil.copy2(db, before)
    fix_timeouts(folder / FIXED)
    log_bodies(folder / INTRODUCED)
    move_sections(folder / MOVED)
    review(folder, db)
    return Revised(folder, db, before)
