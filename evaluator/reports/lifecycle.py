"""What moved between revisions of a design: findings new, persisting and resolved.

A case's *revisions* are its successful reviews in order, a new one wherever the design's or
the requirements' digest changes (the store's ``case_revisions`` view; a revision stands for
its latest review). Findings match across revisions by their fingerprint
(:attr:`evaluator.review.record.Finding.fingerprint`): each finding of a revision is ``new``
or ``persisting`` (present in every revision since the one it first appeared in), and each
finding of the revision before that is gone is ``resolved`` (the ``finding_history`` view).
This module reads both views for ``evaluator trends`` and the report, and the waivers a gate
applied to the latest reviews (``finding_waivers``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Literal

from evaluator.reports.data import Scope
from evaluator.store import query

State = Literal["new", "persisting", "resolved"]
STATES: tuple[State, ...] = ("new", "persisting", "resolved")


@dataclass(frozen=True)
class Tracked:
    """One finding of the latest revision (``new``, ``persisting``), or one it resolved.

    ``first_revision`` is the revision its unbroken run began in; ``revisions`` how many
    revisions that run has lasted (for a resolved finding: lasted, up to the one before).
    """

    state: State
    severity: str
    title: str
    fingerprint: str
    first_revision: int
    revisions: int
    check_id: str | None = None
    requirement_id: str | None = None


@dataclass(frozen=True)
class Step:
    """One revision of a case: its review, when, and how many findings were new, persisting, resolved."""

    revision: int
    review_id: str
    at: datetime
    new: int = 0
    persisting: int = 0
    resolved: int = 0


@dataclass
class Lifecycle:
    """A case's revisions in order, and the findings of its latest revision with their state."""

    key: str
    steps: list[Step] = field(default_factory=list)
    findings: list[Tracked] = field(default_factory=list)

    @property
    def latest(self) -> Step:
        """The newest revision."""
        return self.steps[-1]

    def of(self, state: State) -> list[Tracked]:
        """The latest revision's findings in ``state``, most severe first."""
        return [f for f in self.findings if f.state == state]


def lifecycles(db: Path, scope: Scope | None = None) -> dict[str, Lifecycle]:
    """Every case's lifecycle in ``scope`` (revisions whose review is in it), by case key.

    An empty mapping when the store predates the ``finding_history`` view (it is added on the
    next write). Raises StoreError for a missing or unreadable store.
    """
    if not _has_history(db):
        return {}
    scope = scope or Scope()
    where_r, params_r = scope.where("r")
    _, steps = query(
        db,
        "SELECT r.case_key, r.revision, r.review_id, r.created_at, "
        "count(h.state) FILTER (h.state = 'new'), count(h.state) FILTER (h.state = 'persisting'), "
        "count(h.state) FILTER (h.state = 'resolved') "
        "FROM case_revisions r LEFT JOIN finding_history h USING (case_key, revision) "
        f"WHERE true{where_r} GROUP BY ALL ORDER BY r.case_key, r.revision",
        params_r,
    )
    found: dict[str, Lifecycle] = {}
    for key, *values in steps:
        found.setdefault(key, Lifecycle(key)).steps.append(Step(*values))
    where, params = scope.where()
    _, rows = query(
        db,
        "SELECT case_key, state, severity, title, fingerprint, first_revision, revisions, check_id, requirement_id "
        f"FROM finding_history WHERE latest{where} "
        "ORDER BY case_key, list_position(['critical', 'recommendation', 'suggestion'], severity), "
        "list_position(['new', 'persisting', 'resolved'], state), position NULLS LAST, title",
        params,
    )
    for key, *values in rows:
        if key in found:
            found[key].findings.append(Tracked(*values))
    return found


def _has_history(db: Path) -> bool:
    _, rows = query(db, "SELECT count(*) FROM information_schema.tables WHERE table_name = 'finding_history'")
    return bool(rows[0][0])


@dataclass(frozen=True)
class Waived:
    """A finding of a latest review that a gate's waiver accepted (``finding_waivers``)."""

    severity: str
    title: str
    fingerprint: str
    justification: str
    approved_by: str
    expires: date
    applied_at: datetime


def waived(db: Path, scope: Scope | None = None) -> dict[str, list[Waived]]:
    """The waived findings of each case's latest review in ``scope``, by case key (empty before the table exists)."""
    if not _has_history(db):
        return {}
    where, params = (scope or Scope()).where("l")
    _, rows = query(
        db,
        "SELECT l.case_key, f.severity, f.title, w.fingerprint, w.justification, w.approved_by, w.expires, "
        "w.applied_at FROM finding_waivers w JOIN latest_reviews l USING (review_id) "
        "JOIN findings f ON f.review_id = w.review_id AND f.position = w.position "
        f"WHERE true{where} ORDER BY l.case_key, w.position",
        params,
    )
    found: dict[str, list[Waived]] = {}
    for key, *values in rows:
        found.setdefault(key, []).append(Waived(*values))
    return found
