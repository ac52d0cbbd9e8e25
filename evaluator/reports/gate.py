"""The CI gate: does each design's latest review pass the team's thresholds?

Reads the latest successful review of every selected case from the store and fails a case
when it has a finding at or above a severity (``critical``, or ``recommendation`` which also
counts critical ones) or a completeness score below a minimum. The exit code a CI job acts
on is :attr:`GateResult.exit_code`: 0 every case passes, 1 some fail, 3 some selected case
has no review in the store (the gate could not judge it; this wins over 1). Usage and
configuration errors are :class:`EvaluatorError` (exit 2). :mod:`evaluator.reports.gate_files`
writes the result as JUnit XML and SARIF 2.1.0.
"""

from __future__ import annotations

import fnmatch
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from evaluator.errors import EvaluatorError
from evaluator.review.record import SEVERITIES
from evaluator.store import query

FailOn = Literal["critical", "recommendation"]
CaseStatus = Literal["pass", "fail", "missing"]


@dataclass(frozen=True)
class GateOptions:
    """The thresholds and the cases they apply to (``cases``: globs; ``keys``: exact case keys)."""

    fail_on: FailOn = "critical"
    min_completeness: float | None = None
    cases: tuple[str, ...] = ()
    keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class GateFinding:
    """One finding of a case's latest review, with where it points."""

    severity: str
    title: str
    detail: str
    section: str
    evidence: str
    rule_id: str
    line: int | None  # line of the reviewed markdown (the converted text for a .docx/.pdf...)
    end_line: int | None
    breaks: bool  # at or above the gate's severity
    fingerprint: str


@dataclass
class GateCase:
    """One selected case and the verdict of the gate on it."""

    key: str
    status: CaseStatus
    design_path: str | None = None
    source_format: str = "markdown"
    completeness: float | None = None
    review_id: str | None = None
    findings: list[GateFinding] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)  # why it failed, or why it has no review
    notes: list[str] = field(default_factory=list)  # what the gate could not judge, without failing for it

    @property
    def converted(self) -> bool:
        """Whether the design was converted to markdown (its line numbers are not the file's)."""
        return self.source_format not in ("markdown", "text")


@dataclass
class GateResult:
    """The gate's verdict on every selected case."""

    options: GateOptions
    cases: list[GateCase]

    @property
    def exit_code(self) -> int:
        """0 all pass, 1 some fail, 3 some selected case has no review."""
        if any(c.status == "missing" for c in self.cases):
            return 3
        return 1 if any(c.status == "fail" for c in self.cases) else 0

    def count(self, status: CaseStatus) -> int:
        """How many cases have ``status``."""
        return sum(c.status == status for c in self.cases)


def evaluate(db: Path, options: GateOptions | None = None) -> GateResult:
    """Judge the latest review of every selected case in the store at ``db``.

    Raises :class:`EvaluatorError` (via the store) when ``db`` is missing or not a DuckDB file.
    """
    options = options or GateOptions()
    if options.min_completeness is not None and not 0 <= options.min_completeness <= 10:
        raise EvaluatorError(f"the minimum completeness must be between 0 and 10, got {options.min_completeness:g}")
    keys = [row[0] for row in query(db, "SELECT DISTINCT case_key FROM reviews ORDER BY 1")[1]]
    selected, missing = _select(keys, options)
    latest = _latest(db, selected)
    findings = _findings(db, [row["review_id"] for row in latest.values()])
    cases = [
        _judge(key, latest[key], findings.get(latest[key]["review_id"], []), options)
        if key in latest
        else GateCase(key, "missing", reasons=[_why_missing(db, key)])
        for key in selected
    ]
    cases += [GateCase(name, "missing", reasons=[reason]) for name, reason in missing]
    return GateResult(options, cases)


def _select(keys: list[str], options: GateOptions) -> tuple[list[str], list[tuple[str, str]]]:
    """Selected case keys, and (pattern, reason) for each glob or key that selects nothing."""
    if not options.cases and not options.keys:
        return keys, ([] if keys else [("(all cases)", "the store holds no reviews")])
    selected = [k for k in keys if k in options.keys or any(fnmatch.fnmatchcase(k, g) for g in options.cases)]
    missing = [(g, f"no case in the store matches {g!r}") for g in options.cases if not fnmatch.filter(keys, g)]
    missing += [(k, "the store holds no review of this case") for k in options.keys if k not in keys]
    return selected, missing


def _rows(db: Path, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    columns, rows = query(db, sql, params)
    return [dict(zip(columns, row, strict=True)) for row in rows]


def _latest(db: Path, keys: list[str]) -> dict[str, dict[str, Any]]:
    if not keys:
        return {}
    rows = _rows(
        db,
        "SELECT r.case_key, r.review_id, r.design_path, r.completeness_score, d.source_format "
        "FROM latest_reviews r LEFT JOIN documents d ON d.sha256 = r.design_sha256 WHERE list_contains(?, r.case_key)",
        [keys],
    )
    return {row["case_key"]: row for row in rows}


def _findings(db: Path, review_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    if not review_ids:
        return {}
    grouped: dict[str, list[dict[str, Any]]] = {}
    rows = _rows(
        db,
        "SELECT review_id, severity, title, detail, section, evidence, check_id, requirement_id, line_start, line_end "
        "FROM findings WHERE list_contains(?, review_id) ORDER BY review_id, position",
        [review_ids],
    )
    for row in rows:
        grouped.setdefault(row["review_id"], []).append(row)
    return grouped


def _why_missing(db: Path, key: str) -> str:
    rows = _rows(
        db, "SELECT error FROM reviews WHERE case_key = ? AND status <> 'ok' ORDER BY created_at DESC LIMIT 1", [key]
    )
    error = rows[0]["error"] if rows else None
    return f"no successful review; the last attempt failed: {error}" if error else "no successful review"


def _judge(key: str, review: dict[str, Any], rows: list[dict[str, Any]], options: GateOptions) -> GateCase:
    worst = SEVERITIES.index(options.fail_on)
    findings = [_finding(key, row, SEVERITIES.index(row["severity"]) <= worst) for row in rows]
    case = GateCase(
        key,
        "pass",
        design_path=review["design_path"],
        source_format=review["source_format"] or "markdown",
        completeness=review["completeness_score"],
        review_id=review["review_id"],
        findings=findings,
    )
    breaking = [f for f in findings if f.breaks]
    if breaking:
        case.reasons.append(f"{len(breaking)} finding(s) at or above {options.fail_on}")
    minimum, score = options.min_completeness, case.completeness
    if minimum is not None and score is None:
        case.notes.append(
            "completeness not assessed: the requirements state nothing binding, --min-completeness not applied"
        )
    elif minimum is not None and score is not None and score < minimum:
        case.reasons.append(f"completeness {score:g}/10 is below {minimum:g}")
    case.status = "fail" if case.reasons else "pass"
    return case


def _finding(key: str, row: dict[str, Any], breaks: bool) -> GateFinding:
    """A stored finding row; the rule is its check, else its requirement, else a slug of its title."""
    rule = row["check_id"] or row["requirement_id"] or slug(row["title"])
    evidence = row["evidence"] or ""
    identity = "\0".join([key, rule, " ".join(row["title"].lower().split()), " ".join(evidence.split())])
    line = _line(row["line_start"])
    return GateFinding(
        severity=row["severity"],
        title=row["title"],
        detail=row["detail"] or "",
        section=row["section"] or "",
        evidence=evidence,
        rule_id=rule,
        line=line,
        end_line=_line(row["line_end"]) if line else None,
        breaks=breaks,
        fingerprint=hashlib.sha256(identity.encode("utf-8")).hexdigest()[:32],
    )


def _line(value: int | None) -> int | None:
    """A 1-based line number, or None where the finding has none."""
    return value if value is not None and value > 0 else None


def slug(text: str) -> str:
    """A rule id from a finding title: 'Plain-text PAN!' -> 'plain-text-pan'."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "finding"
