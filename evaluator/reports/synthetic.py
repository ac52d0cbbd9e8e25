"""Synthetic reviews for tests and benchmarks of the read side, written straight into DuckDB.

A few dozen reviews in the real format (rendered by :func:`evaluator.review.render.render_markdown`)
are made once; DuckDB then expands them into ``cases × nights`` review rows, one run per
night, with their findings, in a handful of bulk ``INSERT … SELECT`` statements. 100,000
reviews take seconds, where ingesting files takes minutes. ``bench_ingest`` times ingesting files
into such a store (``python -m evaluator.reports.synthetic ingest``). Nothing here is committed data:
the same arguments always write the same rows (a fixed seed), apart from the ids.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from evaluator.review.record import ASSESSMENTS, READINESS, ChecklistEntry, Finding, Review, SectionFeedback
from evaluator.review.render import render_markdown
from evaluator.store import Store

_POOL = 40  # distinct review texts; rows pick one each, so the file stays realistic in size per row
_WORDS = tuple(
    [
        "retry",
        "backoff",
        "idempotency",
        "key",
        "consumer",
        "lag",
        "dead-letter",
        "topic",
        "schema",
        "migration",
        "rollout",
        "canary",
        "encryption",
        "at",
        "rest",
        "audit",
        "log",
        "retention",
        "pagination",
        "rate",
        "limit",
        "timeout",
        "circuit",
        "breaker",
        "cache",
        "invalidation",
        "replica",
        "failover",
        "index",
        "partition",
        "tracing",
        "metrics",
        "alert",
        "runbook",
        "quota",
    ]
)


@dataclass(frozen=True)
class SyntheticStore:
    """What :func:`write_synthetic` wrote."""

    path: Path
    cases: int
    reviews: int
    runs: int


def write_synthetic(db: Path, cases: int, reviews_per_case: int = 10, seed: int = 7) -> SyntheticStore:
    """Fill ``db`` (created and migrated if missing) with ``cases × reviews_per_case`` reviews.

    Night ``n`` is one batch run reviewing every case; the design of a case changes every
    third night; one review in a hundred failed. Raises StoreError if the store cannot be opened.
    """
    rng = random.Random(seed)
    texts = [_review(rng, i) for i in range(_POOL)]
    start = datetime(2026, 1, 1)
    with Store(db) as store, store.transaction() as con:
        con.execute("CREATE TEMP TABLE pool (i INTEGER, title VARCHAR, markdown VARCHAR, pc DOUBLE, ps DOUBLE, "
                    "assessment VARCHAR, readiness VARCHAR)")  # fmt: skip
        con.executemany("INSERT INTO pool VALUES (?, ?, ?, ?, ?, ?, ?)", texts)
        con.execute(
            "INSERT INTO runs (run_id, kind, status, started_at, finished_at, source, tool_version, model_name, "
            "profile, prompt_hash, cases_total, cases_ok, cases_failed, cases_skipped) "
            "SELECT 'synthetic-' || n, 'batch', 'completed', ?::TIMESTAMP + n * INTERVAL 1 DAY, "
            "?::TIMESTAMP + n * INTERVAL 1 DAY + INTERVAL 8 HOUR, 'synthetic', 'synthetic', "
            "'model-' || (n // 5), 'python-fastapi', 'prompts-' || (n // 3), ?, ?, 0, 0 FROM range(?) t(n)",
            [start, start, cases, cases, reviews_per_case],
        )
        con.execute(_INSERT_REVIEWS, [start, cases, reviews_per_case])
        con.execute(
            "INSERT INTO findings (review_id, position, severity, title, detail, section, evidence, evidence_found, "
            "fingerprint) SELECT r.review_id, f.k, CASE WHEN f.k = 0 THEN 'critical' ELSE 'recommendation' END, "
            "'Finding ' || ((hash(r.case_key) + f.k + (r.design_sha256 < '4')::INTEGER) % 50), "
            "'Detail of the finding.', 'Data Model', NULL, NULL, left(md5(title), 16) "
            "FROM reviews r, range(3) f(k) WHERE r.source = 'synthetic' AND r.status = 'ok'"
        )
    return SyntheticStore(db, cases, cases * reviews_per_case, reviews_per_case)


# Case c, night n: pool text (c * 7 + n) % _POOL; design revision n // 3; every 100th row failed.
_INSERT_REVIEWS = f"""
INSERT INTO reviews (review_id, run_id, case_key, cache_key, source, design_path, design_sha256, status, error,
    title, overall_assessment, completeness_score, technical_soundness_score, implementation_readiness,
    model_name, profile, prompt_hash, markdown, created_at, seconds)
SELECT md5(c || '/' || n), 'synthetic-' || n, 'team' || (c % 40) || '/service-' || c || '/tech-design.md', NULL,
    'synthetic', 'team' || (c % 40) || '/service-' || c || '/tech-design.md', md5(c || '@' || (n // 3)),
    CASE WHEN (c + n) % 100 = 0 THEN 'failed' ELSE 'ok' END,
    CASE WHEN (c + n) % 100 = 0 THEN 'the model output was not a valid review twice' END,
    p.title || ' ' || c, p.assessment, p.pc, p.ps, p.readiness, 'model-' || (n // 5), 'python-fastapi',
    'prompts-' || (n // 3), p.markdown,
    ?::TIMESTAMP + n * INTERVAL 1 DAY + (c % 28800) * INTERVAL 1 SECOND, 30 + (c % 60)
FROM range(?) cs(c), range(?) ns(n), pool p WHERE p.i = (c * 7 + n) % {_POOL}
"""


def _review(rng: random.Random, i: int) -> tuple[int, str, str, float, float, str, str]:
    def sentence(words: int = 14) -> str:
        return " ".join(rng.choice(_WORDS) for _ in range(words)).capitalize() + "."

    c, s = rng.randint(2, 9), rng.randint(2, 9)
    review = Review(
        title=f"Service design {i}",
        profile="python-fastapi",
        overall_assessment=ASSESSMENTS[3 - min(3, s // 3)],
        completeness_score=c,
        technical_soundness_score=s,
        implementation_readiness=READINESS[2 - min(2, s // 4)],
        strengths=[sentence() for _ in range(3)],
        findings=[
            Finding(severity=sev, title=sentence(5), detail=sentence(30), section="Data Model", evidence=sentence(8))
            for sev in ("critical", "recommendation", "recommendation", "suggestion")
        ],
        sections=[SectionFeedback(key=f"s{k}", title=f"Section {k}", feedback=sentence(40)) for k in range(6)],
        missing_elements=[sentence() for _ in range(2)],
        alternative_approaches=[sentence() for _ in range(2)],
        risk_assessment=sentence(40),
        checklist=[ChecklistEntry(key=f"c{k}", text=sentence(8), checked=k % 2 == 0) for k in range(10)],
        next_steps=[sentence() for _ in range(4)],
        model="synthetic",
    )
    return (
        i,
        review.title,
        render_markdown(review),
        c,
        s,
        review.overall_assessment or "",
        review.implementation_readiness or "",
    )


def bench_report(
    sizes: tuple[int, ...] = (1_000, 10_000), reviews_per_case: int = 10, folder: Path | None = None
) -> None:
    """Print the report's time and sizes for stores of ``sizes`` cases (``reviews_per_case`` each).

    The stores are written once into ``folder`` (default: a temporary folder) and reused.
    """
    import tempfile
    import time

    from evaluator.reports.html import write_report

    root = folder or Path(tempfile.mkdtemp(prefix="evaluator-report-bench-"))
    for cases in sizes:
        db = root / f"synthetic-{cases}x{reviews_per_case}.duckdb"
        if not db.is_file():
            started = time.perf_counter()
            write_synthetic(db, cases, reviews_per_case)
            print(f"wrote {cases * reviews_per_case:,} synthetic reviews in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        result = write_report(db, root / f"report-{cases}" / "report.html")
        seconds = time.perf_counter() - started
        print(
            f"report of {result.reviews:,} reviews over {result.cases:,} cases: {seconds:.1f} s, first page "
            f"{result.size_bytes / 1e6:.2f} MB, {result.pages} pages of cases, {result.total_bytes / 1e6:.0f} MB in all"
        )


def bench_ingest(files: int = 1_000, cases: int = 1_000, reviews_per_case: int = 10) -> float:
    """Ingest ``files`` review files into a synthetic store of ``cases × reviews_per_case`` reviews; print
    and return reviews per second (wall time of :func:`evaluator.ingest.reviews.ingest`).

    The files are the store's own rendered reviews (each made unique by a trailing comment),
    written to a temporary folder laid out as ``teamN/svc-I/tech-design-review.md``.
    """
    import shutil
    import tempfile
    import time

    from evaluator.ingest.reviews import ingest
    from evaluator.store import query

    root = Path(tempfile.mkdtemp(prefix="evaluator-ingest-bench-"))
    try:
        db = write_synthetic(root / "synthetic.duckdb", cases, reviews_per_case).path
        sql = f"SELECT markdown FROM reviews WHERE status = 'ok' ORDER BY review_id LIMIT {int(files)}"
        for i, (markdown,) in enumerate(query(db, sql)[1]):
            path = root / "reviews" / f"team{i % 40}" / f"svc-{i}" / "tech-design-review.md"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"{markdown}\n<!-- copy {i} -->\n", encoding="utf-8")
        started = time.perf_counter()
        results = ingest([root / "reviews"], db)
        rate = len(results) / (time.perf_counter() - started)
        stored = sum(r.status == "ok" for r in results)
        print(f"ingested {stored:,} of {len(results):,} review files into a store of {cases * reviews_per_case:,} "
              f"reviews: {rate:.1f} reviews/s")  # fmt: skip
        return rate
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":  # `make report-bench`; `python -m evaluator.reports.synthetic ingest [FILES]`
    import sys

    if sys.argv[1:2] == ["ingest"]:
        bench_ingest(int(sys.argv[2]) if len(sys.argv) > 2 else 1_000)
    else:
        bench_report()
