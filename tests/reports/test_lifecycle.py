"""The store's revisions and finding history, on series written straight into the store."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import duckdb

from evaluator.documents.read import parse_document
from evaluator.reports.data import Scope
from evaluator.reports.lifecycle import lifecycles
from evaluator.review.record import Finding, Review
from evaluator.store import ReviewRecord, Store, query
from evaluator.store.migrations import MIGRATIONS

KEY = "pay/tech-design.md"
START = datetime(2026, 3, 1)


def _finding(title: str, severity: str = "critical") -> Finding:
    return Finding(severity=severity, title=title, source="model")  # type: ignore[arg-type]


def _series(db: Path, reviews: list[tuple[str, str, list[str]]]) -> None:
    """One review per (design text, requirements text, finding titles), a day apart."""
    with Store(db) as store:
        run = store.begin_run("batch", "x")
        for day, (design, requirements, titles) in enumerate(reviews):
            review = Review(title="Pay", profile="p", findings=[_finding(t) for t in titles])
            record = ReviewRecord(
                run, KEY, review=review, design=parse_document(f"# Pay\n\n{design}\n", Path(KEY)),
                requirements=parse_document(f"# R\n\n{requirements}\n", Path("requirements.md")),
                created_at=START + timedelta(days=day),
            )  # fmt: skip
            store.save(record)


def test_revisions_follow_either_digest_and_a_revision_stands_for_its_latest_review(tmp_path: Path) -> None:
    db = tmp_path / "e.duckdb"
    _series(db, [
        ("v1", "r1", ["No DLQ", "No auth"]),
        ("v1", "r1", ["No DLQ", "No auth", "No index"]),  # the same revision again (another model): it wins
        ("v2", "r1", ["No DLQ"]),  # the design changed
        ("v2", "r2", ["No DLQ", "No auth"]),  # the requirements changed: a revision too; No auth is back, new again
    ])  # fmt: skip
    _, revisions = query(db, "SELECT revision, latest FROM case_revisions ORDER BY revision")
    assert revisions == [(1, False), (2, False), (3, True)]
    [history] = lifecycles(db).values()
    assert [(s.revision, s.new, s.persisting, s.resolved) for s in history.steps] == [
        (1, 3, 0, 0),
        (2, 0, 1, 2),
        (3, 1, 1, 0),
    ]
    assert [(f.state, f.title, f.first_revision, f.revisions) for f in history.findings] == [
        ("new", "No auth", 3, 1),
        ("persisting", "No DLQ", 1, 3),
    ]
    _, resolved = query(
        db, "SELECT revision, title, revisions FROM finding_history WHERE state = 'resolved' ORDER BY 2"
    )
    assert resolved == [(2, "No auth", 1), (2, "No index", 1)]


def test_the_scope_limits_cases_and_revisions(tmp_path: Path) -> None:
    db = tmp_path / "e.duckdb"
    _series(db, [("v1", "r", ["No DLQ"]), ("v2", "r", [])])
    [history] = lifecycles(db, Scope(since=START + timedelta(hours=12))).values()
    assert [(s.revision, s.new, s.persisting, s.resolved) for s in history.steps] == [(2, 0, 0, 1)]
    assert [(f.state, f.title) for f in history.findings] == [("resolved", "No DLQ")]
    assert lifecycles(db, Scope(cases=("ship/*",))) == {}


def test_a_store_before_the_history_view_has_no_lifecycle(tmp_path: Path) -> None:
    db = tmp_path / "old.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR, applied_at TIMESTAMP)")
    for version, (name, sql) in enumerate(MIGRATIONS[:-1], 1):
        con.execute(sql)
        con.execute("INSERT INTO schema_migrations VALUES (?, ?, now())", [version, name])
    con.close()
    assert lifecycles(db) == {}
    Store(db).close()  # the next writer adds it
    assert query(db, "SELECT count(*) FROM finding_history")[1] == [(0,)]


def test_replacing_a_review_removes_its_recorded_waivers(tmp_path: Path) -> None:
    db = tmp_path / "e.duckdb"
    _series(db, [("v1", "r", ["No DLQ"])])
    [(review_id,)] = query(db, "SELECT review_id FROM reviews")[1]
    row = {"review_id": review_id, "position": 0, "fingerprint": _finding("No DLQ").fingerprint,
           "matched_by": "fingerprint", "case_glob": "*", "justification": "j", "approved_by": "a",
           "expires": START.date(), "waivers_file": "w.toml", "applied_at": START}  # fmt: skip
    with Store(db) as store:
        assert store.record_waivers([row, {**row, "justification": "renewed"}]) == 2
        assert query(db, "SELECT justification FROM finding_waivers")[1] == [("renewed",)]  # one row per finding
        review = Review(title="Pay", profile="p", findings=[_finding("No DLQ")])
        store.replace(review_id, ReviewRecord("x", KEY, review=review))
    assert query(db, "SELECT count(*) FROM finding_waivers")[1] == [(0,)]
