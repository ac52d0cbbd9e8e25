"""What the report shows, read from the store with read-only queries.

Every query goes through :func:`evaluator.store.query` (a read-only connection that cannot
write, attach or load), restricted to the report's scope: reviews created since a moment,
of the cases matching some glob patterns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from evaluator.errors import StoreError
from evaluator.store import query


@dataclass(frozen=True)
class Scope:
    """Which reviews the report covers: created at or after ``since``, cases matching ``cases`` (globs)."""

    since: datetime | None = None
    cases: tuple[str, ...] = ()

    def where(self, alias: str = "") -> tuple[str, list[Any]]:
        """SQL conditions (always starting with ``AND``) and their parameters."""
        prefix = f"{alias}." if alias else ""
        sql = ""
        params: list[Any] = []
        if self.since is not None:
            sql += f" AND {prefix}created_at >= ?"
            params.append(self.since)
        if self.cases:
            sql += " AND (" + " OR ".join(f"{prefix}case_key GLOB ?" for _ in self.cases) + ")"
            params += list(self.cases)
        return sql, params


@dataclass(frozen=True)
class RunSummary:
    """The latest run: its counts, throughput and what it ran with."""

    run_id: str
    kind: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    source: str | None
    model: str | None
    profile: str | None
    prompt_hash: str | None
    total: int
    ok: int
    failed: int
    skipped: int

    @property
    def docs_per_hour(self) -> float | None:
        """Reviewed (ok or failed) documents per hour of the run's wall time."""
        if self.finished_at is None or self.kind != "batch":
            return None
        seconds = (self.finished_at - self.started_at).total_seconds()
        return (self.ok + self.failed) * 3600 / seconds if seconds > 0 else None


@dataclass(frozen=True)
class TrendRow:
    """One successful review in a case's series (from the ``score_trends`` view)."""

    point: int
    created_at: datetime
    model: str
    design_sha256: str | None
    completeness: float | None
    soundness: float | None
    completeness_change: float | None
    soundness_change: float | None
    assessment: str | None
    readiness: str | None


@dataclass(frozen=True)
class CoverageRow:
    """One requirement of a review's traceability: id, status, first evidence line, text."""

    requirement_id: str
    status: str
    line_start: int | None
    text: str


@dataclass
class CaseData:
    """A case: its score series and its latest successful review."""

    key: str
    rows: list[TrendRow] = field(default_factory=list)
    title: str = ""
    markdown: str = ""
    latest_at: datetime | None = None
    latest_model: str = ""
    latest_profile: str = ""
    coverage: list[CoverageRow] = field(default_factory=list)  # the latest review's traceability

    @property
    def latest(self) -> TrendRow:
        """The newest review of the series."""
        return self.rows[-1]

    def revision_starts(self) -> list[int]:
        """Point numbers where the design differs from the previous review's design."""
        starts, previous = [], None
        for row in self.rows:
            if row.design_sha256 and previous and row.design_sha256 != previous:
                starts.append(row.point)
            previous = row.design_sha256 or previous
        return starts


@dataclass(frozen=True)
class Failing:
    """A case whose newest attempt failed."""

    key: str
    at: datetime
    error: str


@dataclass(frozen=True)
class FrequentFinding:
    """A critical finding title raised in the latest reviews of several designs."""

    title: str
    detail: str
    designs: int
    cases: list[str]


@dataclass(frozen=True)
class GroupStats:
    """Reviews of one model, profile or prompt version."""

    name: str
    reviews: int
    failed: int
    cases: int
    completeness: float | None
    soundness: float | None
    seconds: float | None


def latest_run(db: Path, scope: Scope) -> RunSummary | None:
    """The most recently started batch run (since ``scope.since``), else the latest run of any kind, or None.

    A run whose writer was killed has no counts recorded: they are counted from its reviews.
    """
    since = " WHERE started_at >= ?" if scope.since else ""
    _, rows = query(
        db,
        "WITH run AS (SELECT * FROM runs"
        f"{since} ORDER BY kind = 'batch' DESC, started_at DESC LIMIT 1), "
        "counted AS (SELECT count(*) FILTER (status = 'ok') AS ok, count(*) FILTER (status = 'failed') AS failed "
        "FROM reviews WHERE run_id = (SELECT run_id FROM run)) "
        "SELECT run_id, kind, status, started_at, finished_at, source, model_name, profile, prompt_hash, "
        "coalesce(cases_total, 0), coalesce(cases_ok, counted.ok), coalesce(cases_failed, counted.failed), "
        "coalesce(cases_skipped, 0) FROM run, counted",
        [scope.since] if scope.since else [],
    )
    return RunSummary(*rows[0]) if rows else None


def cases(db: Path, scope: Scope) -> list[CaseData]:
    """Every case with a successful review in scope: its series, then its latest review."""
    where, params = scope.where()
    _, rows = query(
        db,
        "SELECT case_key, point, created_at, coalesce(model_name, source), design_sha256, completeness_score, "
        "technical_soundness_score, completeness_change, soundness_change, overall_assessment, "
        f"implementation_readiness FROM score_trends WHERE true{where} ORDER BY case_key, point",
        params,
    )
    by_key: dict[str, CaseData] = {}
    for key, *values in rows:
        by_key.setdefault(key, CaseData(key)).rows.append(TrendRow(*values))
    # latest_reviews' ids first: its window would otherwise carry every review's markdown along.
    _, latest = query(
        db,
        "WITH latest AS (SELECT review_id FROM latest_reviews) "
        "SELECT case_key, coalesce(title, case_key), coalesce(markdown, ''), created_at, "
        f"coalesce(model_name, source), coalesce(profile, '') FROM reviews JOIN latest USING (review_id) "
        f"WHERE true{where}",
        params,
    )
    for key, title, markdown, at, model, profile in latest:
        if key in by_key:
            case = by_key[key]
            case.title, case.markdown, case.latest_at, case.latest_model, case.latest_profile = (
                title, markdown, at, model, profile
            )  # fmt: skip
    where_l, params_l = scope.where("l")
    _, traced = query(
        db,
        "SELECT l.case_key, c.requirement_id, c.status, c.line_start, c.requirement_text FROM requirement_coverage c "
        f"JOIN latest_reviews l USING (review_id) WHERE true{where_l} ORDER BY l.case_key, c.position",
        params_l,
    )
    for key, *row in traced:
        if key in by_key:
            by_key[key].coverage.append(CoverageRow(*row))
    return list(by_key.values())


def failing(db: Path, scope: Scope) -> list[Failing]:
    """Cases whose newest attempt in scope failed (no successful review after it)."""
    where, params = scope.where("f")
    _, rows = query(
        db,
        "SELECT f.case_key, f.created_at, coalesce(f.error, 'unknown error') FROM reviews f "
        f"WHERE f.status = 'failed'{where} AND NOT EXISTS (SELECT 1 FROM reviews o WHERE o.case_key = f.case_key "
        "AND o.status = 'ok' AND o.created_at > f.created_at) "
        "QUALIFY row_number() OVER (PARTITION BY f.case_key ORDER BY f.created_at DESC) = 1 ORDER BY f.case_key",
        params,
    )
    return [Failing(*row) for row in rows]


def frequent_critical_findings(db: Path, scope: Scope, limit: int = 15) -> list[FrequentFinding]:
    """Critical findings of the latest reviews, grouped by title (case and punctuation ignored)."""
    where, params = scope.where("l")
    _, rows = query(
        db,
        r"SELECT trim(regexp_replace(lower(f.title), '[\s\pP]+', ' ', 'g')) AS k, min(f.title), min(f.detail), "
        "count(DISTINCT l.case_key) AS designs, list(DISTINCT l.case_key ORDER BY l.case_key) "
        f"FROM findings f JOIN latest_reviews l USING (review_id) WHERE f.severity = 'critical'{where} "
        "GROUP BY k ORDER BY designs DESC, k LIMIT ?",
        [*params, limit],
    )
    return [FrequentFinding(title, detail or "", designs, keys) for _, title, detail, designs, keys in rows]


COMPARED = {"model": "model_name", "prompt version": "prompt_hash", "profile": "profile"}


def comparison(db: Path, scope: Scope, column: str) -> list[GroupStats]:
    """Review counts and mean scores per value of ``column`` (one of :data:`COMPARED`'s)."""
    if column not in COMPARED.values():
        raise ValueError(f"not a compared column: {column}")
    where, params = scope.where()
    _, rows = query(
        db,
        f"SELECT coalesce({column}, CASE source WHEN 'ingested' THEN '(ingested)' ELSE '(not recorded)' END), "
        "count(*) FILTER (status = 'ok'), "
        "count(*) FILTER (status = 'failed'), count(DISTINCT case_key) FILTER (status = 'ok'), "
        "avg(completeness_score) FILTER (status = 'ok'), avg(technical_soundness_score) FILTER (status = 'ok'), "
        "avg(seconds) FILTER (status = 'ok' AND source = 'generated') "
        f"FROM reviews WHERE true{where} GROUP BY 1 ORDER BY min(created_at), 1",
        params,
    )
    return [GroupStats(*row) for row in rows]


def counts(db: Path, scope: Scope) -> tuple[int, int, int]:
    """Successful reviews, failed attempts and runs in scope."""
    where, params = scope.where()
    _, rows = query(
        db,
        "SELECT count(*) FILTER (status = 'ok'), count(*) FILTER (status = 'failed'), count(DISTINCT run_id) "
        f"FROM reviews WHERE true{where}",
        params,
    )
    ok, failed, runs = rows[0]
    return int(ok), int(failed), int(runs)


def one_case(db: Path, case: str) -> str:
    """The key of the one reviewed case ``case`` names (a case key or a glob).

    Raises StoreError when no reviewed case matches, or when the glob matches several (the message lists a few).
    """
    _, keys = query(db, "SELECT DISTINCT case_key FROM latest_reviews WHERE case_key GLOB ? ORDER BY 1", [case])
    if not keys:
        raise StoreError(
            f"no reviewed case matches '{case}' in {db} — list them with: SELECT case_key FROM latest_reviews"
        )
    if len(keys) > 1 and (case,) not in keys:
        shown = ", ".join(k for (k,) in keys[:5]) + (" …" if len(keys) > 5 else "")
        raise StoreError(f"'{case}' matches {len(keys)} cases ({shown}) — name one")
    return case if (case,) in keys else str(keys[0][0])


def case_coverage(db: Path, case: str) -> tuple[str, list[CoverageRow]]:
    """The requirement traceability of the latest review of ``case`` (a case key or a glob).

    Returns the case key and its rows. Raises StoreError as :func:`one_case` does.
    """
    key = one_case(db, case)
    _, rows = query(
        db,
        "SELECT c.requirement_id, c.status, c.line_start, c.requirement_text FROM requirement_coverage c "
        "JOIN latest_reviews l USING (review_id) WHERE l.case_key = ? ORDER BY c.position",
        [key],
    )
    return key, [CoverageRow(*row) for row in rows]
