"""Stores for the report tests, filled through the real batch path with a scripted fake model.

Each design carries a line ``scores C S`` that the fake reads back as its completeness and
soundness scores, so a test decides how a case's series moves by editing its design.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from evaluator.backends.fake import FakeBackend, schema_instance
from evaluator.batch import BatchOptions, run_batch
from evaluator.cases import discover
from evaluator.documents import parse_document
from evaluator.render import render_markdown
from evaluator.review import Finding, Review
from evaluator.store import ReviewRecord, Store

_SCORES = re.compile(r"scores (\d+) (\d+)")
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def scoring_output(messages: list[dict[str, str]], schema: dict[str, Any]) -> str:
    """A valid review whose scores, assessment and readiness follow the design's ``scores C S`` line."""
    data = schema_instance(schema)
    match = _SCORES.search(messages[-1]["content"])
    if match and "completeness_score" in data:
        completeness, soundness = int(match[1]), int(match[2])
        data.update(completeness_score=completeness, technical_soundness_score=soundness)
        data["overall_assessment"] = ["Requires Rework", "Needs Improvement", "Good", "Excellent"][
            min(3, soundness // 3)
        ]
        data["implementation_readiness"] = ["Major Changes Required", "Minor Changes", "Ready"][min(2, soundness // 4)]
    if data.get("findings"):
        data["findings"][0].update(severity="critical", title="Card numbers stored in plain text")
    return json.dumps(data)


def write_cases(folder: Path, scores: dict[str, tuple[int, int]], title: str = "Design") -> None:
    """One design per key (``key/tech-design.md``) sharing one requirements file."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "requirements.md").write_text("# Payments\n\nFR-1: store card data encrypted.\n")
    for key, (completeness, soundness) in scores.items():
        (folder / key).mkdir(parents=True, exist_ok=True)
        (folder / key / "tech-design.md").write_text(
            f"# {title} {key}\n\n## Data Model\n\nscores {completeness} {soundness}\n"
        )


def batch(folder: Path, db: Path) -> None:
    """One batch run over ``folder`` with a fake answering with :func:`scoring_output`."""
    run_batch(discover(folder), BatchOptions(db=db), backend=FakeBackend.answering(scoring_output), source=str(folder))


def save_review(db: Path, case_key: str, *, model: str, title: str = "Design", finding: str = "Finding",
                scores: tuple[int, int] = (5, 5), at: datetime | None = None) -> None:  # fmt: skip
    """One review straight into the store, as another model or tool would have written it."""
    review = Review(
        title=title,
        profile="python-fastapi",
        overall_assessment="Good",
        completeness_score=scores[0],
        technical_soundness_score=scores[1],
        implementation_readiness="Minor Changes",
        findings=[Finding(severity="critical", title=finding, detail=f"detail of {finding}")],
        model=model,
    )
    design = parse_document(f"# {title}\n\nbody\n", Path(case_key))
    with Store(db) as store:
        run_id = store.begin_run("batch", "elsewhere", model_name=model, profile="python-fastapi")
        store.save(ReviewRecord(run_id, case_key, review=review, markdown=render_markdown(review), design=design,
                                created_at=at))  # fmt: skip
        store.finish_run(run_id, "completed", total=1, ok=1, failed=0, skipped=0)
