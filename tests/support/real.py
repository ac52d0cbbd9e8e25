"""The session's one real batch, and helpers for the tests that read it (marked ``model``).

:func:`run_shared_batch` copies four sample designs (two requirements groups, each with its
sound design and a defective one; the 25 KB loan design needs parts) and:

1. runs ``evaluator batch --parallel 1`` in a process of its own and kills it with SIGKILL
   once its first review is committed (the end-to-end test of the batch command);
2. resumes it in this process through :func:`evaluator.batch.calibration.calibrate` (the batch
   runner plus the calibration metrics) on the session's loaded model, ``parallel`` auto,
   with every outbound connection refused.

The store it leaves is what ``test_real_batch``, ``test_real_calibration`` and
``test_real_cli`` assert on.
"""

from __future__ import annotations

import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from evaluator.batch import BatchObserver, BatchOptions
from evaluator.batch.calibration import Calibration, calibrate
from evaluator.batch.capacity import Capacity
from evaluator.grounding.profiles import load_profile
from evaluator.review.record import ASSESSMENTS, READINESS
from evaluator.store import query
from tests.review.test_render import EXPECTED_HEADINGS
from tests.support.data import DATASETS
from tests.support.netguard import NetworkGuard, inet_sockets

SHARED = {
    "clinic-appointments": ("double-booking", "sound"),
    "loan-origination": ("sound", "sync-credit-call"),
}
LONG = "loan-origination/sound/tech-design.md"  # 25 KB: can never fit one pass of an 8k context


@dataclass
class SharedBatch:
    """What the session's real batch did and where it left its store."""

    folder: Path
    db: Path
    killed_stderr: str
    killed_status: int
    calibration: Calibration
    capacity: list[Capacity] = field(default_factory=list)
    network_attempts: list[str] = field(default_factory=list)
    new_inet_sockets: int = 0

    def rows(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        """Rows of a read-only query on the store, as dicts."""
        columns, rows = query(self.db, sql, params)
        return [dict(zip(columns, row, strict=True)) for row in rows]

    @property
    def keys(self) -> list[str]:
        """The case keys of the batch, sorted."""
        return sorted(f"{group}/{name}/tech-design.md" for group, names in SHARED.items() for name in names)


class _Capacity(BatchObserver):
    def __init__(self, seen: list[Capacity]) -> None:
        self.seen = seen

    def capacity(self, capacity: Capacity) -> None:
        self.seen.append(capacity)


def copy_cases(root: Path) -> Path:
    """The shared designs with their requirements and labels, in the datasets' layout."""
    for group, names in SHARED.items():
        for requirements in (DATASETS / group).glob("**/requirements.md"):
            target = root / requirements.relative_to(DATASETS)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(requirements, target)
        for name in names:
            shutil.copytree(DATASETS / group / name, root / group / name)
    return root


def run_shared_batch(tmp: Path, factory: Any) -> SharedBatch:
    """See the module docstring."""
    folder, db = copy_cases(tmp / "cases"), tmp / "reviews.duckdb"
    stderr, status = _killed_after_first_review(folder, db)
    seen: list[Capacity] = []
    with pytest.MonkeyPatch.context() as patch:
        guard = NetworkGuard()
        guard.install(patch)
        before = inet_sockets()
        options = BatchOptions(db=db, parallel=None)
        calibration = calibrate(folder, options, backend=factory, observer=_Capacity(seen))
        opened = len(inet_sockets() - before)
    return SharedBatch(folder, db, stderr, status, calibration, seen, guard.attempts, opened)


def _killed_after_first_review(folder: Path, db: Path) -> tuple[str, int]:
    command = [sys.executable, "-m", "evaluator", "batch", str(folder), "--db", str(db), "--parallel", "1"]
    with subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True) as proc:
        lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=_pump, args=(proc.stderr, lines), daemon=True).start()
        seen: list[str] = []
        while not any(line.startswith(("✓", "✗")) for line in seen):  # the first review is committed...
            line = lines.get(timeout=900)
            if line is None:  # the batch ended before its first review: say why now, not after the timeout
                pytest.fail(f"the batch exited ({proc.wait()}) before its first review:\n{''.join(seen)}")
            seen.append(line)
        proc.send_signal(signal.SIGKILL)  # ...and the next one is being generated
        return "".join(seen), proc.wait()


def _pump(stream: Any, out: queue.Queue[str | None]) -> None:
    for line in stream:
        out.put(line)
    out.put(None)  # the stream closed: the process is gone


def check_format(text: str) -> None:
    """Assert the markdown follows the reviewer's output format to the letter."""
    assert re.match(r"# Technical Design Review: \S.*\n", text)
    assert re.findall(r"^#{2,3} .*$", text, flags=re.M) == EXPECTED_HEADINGS
    summary = dict(re.findall(r"^- \*\*(.+?)\*\*: (.+)$", text.split("## Strengths")[0], flags=re.M))
    assert list(summary) == [
        "Overall Assessment",
        "Completeness Score",
        "Technical Soundness Score",
        "Implementation Readiness",
    ]
    assert summary["Overall Assessment"] in ASSESSMENTS
    assert summary["Implementation Readiness"] in READINESS
    for label in ("Completeness Score", "Technical Soundness Score"):
        match = re.fullmatch(r"(\d+(?:\.\d+)?)/10", summary[label])
        assert match and 0 <= float(match.group(1)) <= 10, summary[label]
    checklist = re.findall(r"^- \[([ x])\] (.+)$", text, flags=re.M)
    assert [item for _, item in checklist] == [c.text for c in load_profile().checklist]
    for heading in ("## Strengths", "## Recommended Next Steps"):
        body = text.split(heading + "\n", 1)[1].split("\n\n", 1)[0]
        assert re.match(r"(- |1\. )\S", body), heading


def sample_cases() -> list[tuple[Path, Path]]:
    """Every labelled design in datasets/ with the requirements file of its group."""
    cases = []
    # a design may be in any format the batch reads (meter-to-cash/rst-ingestion is reStructuredText)
    for design in sorted(next(p.parent.glob("tech-design.*")) for p in DATASETS.glob("*/*/labels.toml")):
        group = design.parent.parent
        requirements = next(p for p in (group / "requirements.md", group / "docs" / "requirements.md") if p.is_file())
        cases.append((requirements, design))
    return cases
