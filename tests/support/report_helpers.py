"""Stores for the report tests: runs of reviews whose scores each test chooses.

Each design carries a line ``scores C S`` that :func:`batch` records as its completeness and
soundness scores, so a test decides how a case's series moves by editing its design. The
scores of a generated review come from the rubric over its findings; the report only reads
rows, so the runs are written straight into the store here (the batch path has its own tests).
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from evaluator.batch.cases import discover
from evaluator.documents.read import parse_document, read_document
from evaluator.review.record import Finding, Review
from evaluator.review.render import render_markdown
from evaluator.store import ReviewRecord, Store, query

_SCORES = re.compile(r"scores (\d+) (\d+)")
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


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
    """One run over ``folder``: a review per new or changed design (as the batch's cache does),
    its scores from the design's ``scores C S`` line."""
    done = set(query(db, "SELECT case_key, design_sha256 FROM reviews")[1]) if db.exists() else set()
    with Store(db) as store:
        run_id = store.begin_run("batch", str(folder), model_name="fake", profile="python-fastapi", prompt_hash="p1")
        cases = discover(folder)
        for case in cases:
            design = read_document(case.design)
            if (case.key, design.sha256) in done:
                continue
            completeness, soundness = map(int, _SCORES.findall(design.text)[0])
            review = Review(
                title=design.title,
                profile="python-fastapi",
                overall_assessment=["Requires Rework", "Needs Improvement", "Good", "Excellent"][
                    min(3, soundness // 3)
                ],
                completeness_score=completeness,
                technical_soundness_score=soundness,
                implementation_readiness=["Major Changes Required", "Minor Changes", "Ready"][min(2, soundness // 4)],
                findings=[Finding(severity="critical", title="Card numbers stored in plain text", detail="d")],
                model="fake",
            )
            record = ReviewRecord(
                run_id, case.key, review=review, markdown=render_markdown(review), design=design, prompt_hash="p1"
            )
            store.save(record)
        store.finish_run(run_id, "completed", total=len(cases), ok=len(cases), failed=0, skipped=0)


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
