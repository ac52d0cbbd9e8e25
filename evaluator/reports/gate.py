"""The CI gate: does each design's latest review pass the team's thresholds?

Reads the latest successful review of every selected case from the store and fails a case
when it has a finding at or above a severity (``critical``, or ``recommendation`` which also
counts critical ones) or a completeness score below a minimum. A finding that a live waiver
accepts (:mod:`evaluator.reports.waivers`) does not fail a case; with a baseline
(:mod:`evaluator.reports.baseline`) only findings new against it do. The exit code a CI job acts
on is :attr:`GateResult.exit_code`: 0 every case passes, 1 some fail (or, with
``strict_waivers``, a waiver has expired or matches nothing), 3 some selected case has no review
in the store (the gate could not judge it; this wins over 1). Usage and configuration errors
are :class:`EvaluatorError` (exit 2). :mod:`evaluator.reports.gate_files` writes the result as
JUnit XML and SARIF 2.1.0.
"""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal

from evaluator.documents.sources import SourceMap
from evaluator.errors import EvaluatorError, StoreError
from evaluator.reports.baseline import Baseline, BaselineFinding, is_store, sarif_baseline
from evaluator.reports.waivers import Waiver, Waivers
from evaluator.review.record import SEVERITIES, Finding
from evaluator.store import Store, query

FailOn = Literal["critical", "recommendation"]
CaseStatus = Literal["pass", "fail", "missing"]
BaselineState = Literal["new", "unchanged"]
# Rules that stand for a kind of finding rather than one check: the same id in every design.
NOT_ADDRESSED, CONTRADICTED = "requirement-not-addressed", "requirement-contradicted"
INJECTION, MODEL, REVIEWER = "prompt-injection", "model-finding", "review-finding"


@dataclass(frozen=True)
class GateOptions:
    """The thresholds and the cases they apply to (``cases``: globs; ``keys``: exact case keys);
    the waivers to apply, the baseline to compare with, and whether a waiver that expired or
    matches nothing fails the gate (``strict_waivers``). ``today`` decides expiry (default: the
    UTC date when the gate runs)."""

    fail_on: FailOn = "critical"
    min_completeness: float | None = None
    cases: tuple[str, ...] = ()
    keys: tuple[str, ...] = ()
    waivers: Waivers | None = None
    baseline: Baseline | None = None
    strict_waivers: bool = False
    today: date | None = None


@dataclass(frozen=True)
class GateFinding:
    """One finding of a case's latest review, with where it points and what the gate made of it.

    ``rule_id``: the check, or one rule per kind of finding (:data:`NOT_ADDRESSED`...).
    ``line``/``end_line``: its evidence in the reviewed markdown (the converted text for a
    .docx/.pdf...); ``requirement_line``: the requirement's line in the requirements document.
    ``at_or_above``: at or above the gate's severity; ``breaks``: it fails the case (at or above,
    not waived, and new against the baseline when there is one).
    """

    severity: str
    title: str
    detail: str
    section: str
    evidence: str
    rule_id: str
    line: int | None
    end_line: int | None
    breaks: bool
    fingerprint: str
    position: int = 0
    source: str | None = None
    check_id: str | None = None
    requirement_id: str | None = None
    requirement_line: int | None = None
    evidence_kind: str | None = None
    at_or_above: bool = False
    baseline_state: BaselineState | None = None  # None: no baseline given
    waiver: Waiver | None = None


@dataclass
class GateCase:
    """One selected case and the verdict of the gate on it."""

    key: str
    status: CaseStatus
    design_path: str | None = None
    source_format: str = "markdown"
    requirements_path: str | None = None
    requirements_format: str = "markdown"
    design_map: SourceMap | None = None  # a converted file's line -> source positions (documents.source_map)
    requirements_map: SourceMap | None = None
    completeness: float | None = None
    review_id: str | None = None
    findings: list[GateFinding] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)  # why it failed, or why it has no review
    notes: list[str] = field(default_factory=list)  # what the gate could not judge, without failing for it

    absent: list[BaselineFinding] = field(default_factory=list)  # in the baseline, gone from the review

    @property
    def converted(self) -> bool:
        """Whether the design was converted to markdown (its line numbers are not the file's)."""
        return self.source_format not in ("markdown", "text")

    @property
    def requirements_converted(self) -> bool:
        """Whether the requirements were converted to markdown (their line numbers are not the file's)."""
        return self.requirements_format not in ("markdown", "text")


@dataclass
class GateResult:
    """The gate's verdict on every selected case, and what it found wrong with the waivers."""

    options: GateOptions
    cases: list[GateCase]
    waiver_problems: list[str] = field(default_factory=list)  # one line per expired or unmatched waiver

    @property
    def exit_code(self) -> int:
        """0 all pass, 1 some fail (or a waiver is stale under ``strict_waivers``), 3 a selected case has no review."""
        if any(c.status == "missing" for c in self.cases):
            return 3
        failed = any(c.status == "fail" for c in self.cases)
        return 1 if failed or (self.options.strict_waivers and self.waiver_problems) else 0

    @property
    def waived(self) -> list[tuple[GateCase, GateFinding]]:
        """Every finding a waiver accepted, with its case."""
        return [(c, f) for c in self.cases for f in c.findings if f.waiver is not None]

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
    problems = _waiver_problems(cases, options, all_cases=not options.cases and not options.keys)
    cases += [GateCase(name, "missing", reasons=[reason]) for name, reason in missing]
    return GateResult(options, cases, problems)


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
        "SELECT r.case_key, r.review_id, r.design_path, r.requirements_path, r.completeness_score, "
        "d.source_format, q.source_format AS requirements_format, d.source_map, "
        "q.source_map AS requirements_source_map FROM latest_reviews r "
        "LEFT JOIN documents d ON d.sha256 = r.design_sha256 LEFT JOIN documents q ON q.sha256 = r.requirements_sha256 "
        "WHERE list_contains(?, r.case_key)",
        [keys],
    )
    return {row["case_key"]: row for row in rows}


def _findings(db: Path, review_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    if not review_ids:
        return {}
    grouped: dict[str, list[dict[str, Any]]] = {}
    rows = _rows(
        db,
        "SELECT review_id, position, severity, title, detail, section, evidence, source, check_id, requirement_id, "
        "line_start, line_end, evidence_kind, requirement_line, fingerprint "
        "FROM findings WHERE list_contains(?, review_id) ORDER BY review_id, position",
        [review_ids],
    )
    for row in rows:
        grouped.setdefault(row["review_id"], []).append(row)
    return grouped


def _source_map(stored: str | None) -> SourceMap | None:
    return SourceMap.from_json(json.loads(stored)) if stored else None


def _why_missing(db: Path, key: str) -> str:
    rows = _rows(
        db, "SELECT error FROM reviews WHERE case_key = ? AND status <> 'ok' ORDER BY created_at DESC LIMIT 1", [key]
    )
    error = rows[0]["error"] if rows else None
    return f"no successful review; the last attempt failed: {error}" if error else "no successful review"


def _judge(key: str, review: dict[str, Any], rows: list[dict[str, Any]], options: GateOptions) -> GateCase:
    worst = SEVERITIES.index(options.fail_on)
    findings = [_settle(key, _finding(row, SEVERITIES.index(row["severity"]) <= worst), options) for row in rows]
    case = GateCase(
        key,
        "pass",
        design_path=review["design_path"],
        source_format=review["source_format"] or "markdown",
        requirements_path=review["requirements_path"],
        requirements_format=review["requirements_format"] or "markdown",
        design_map=_source_map(review["source_map"]),
        requirements_map=_source_map(review["requirements_source_map"]),
        completeness=review["completeness_score"],
        review_id=review["review_id"],
        findings=findings,
    )
    if options.baseline is not None:
        present = {f.fingerprint for f in findings}
        case.absent = [b for b in options.baseline.of(key) if b.fingerprint not in present]
    breaking = [f for f in findings if f.breaks]
    if breaking:
        new = " new" if options.baseline is not None else ""
        case.reasons.append(f"{len(breaking)}{new} finding(s) at or above {options.fail_on}")
    minimum, score = options.min_completeness, case.completeness
    if minimum is not None and score is None:
        case.notes.append(
            "completeness not assessed: the requirements state nothing binding, --min-completeness not applied"
        )
    elif minimum is not None and score is not None and score < minimum:
        case.reasons.append(f"completeness {score:g}/10 is below {minimum:g}")
    case.status = "fail" if case.reasons else "pass"
    return case


def _settle(key: str, finding: GateFinding, options: GateOptions) -> GateFinding:
    """The finding against the baseline and the live waivers: does it still fail the case?"""
    state: BaselineState | None = None
    if options.baseline is not None:
        state = "unchanged" if options.baseline.has(key, finding.fingerprint) else "new"
    waiver = _live_waiver(key, finding, options)
    breaks = finding.at_or_above and waiver is None and state != "unchanged"
    return replace(finding, baseline_state=state, waiver=waiver, breaks=breaks)


def _live_waiver(key: str, finding: GateFinding, options: GateOptions) -> Waiver | None:
    if options.waivers is None:
        return None
    today = _today(options)
    return next(
        (
            w
            for w in options.waivers.entries
            if not w.expired(today) and w.matches(key, finding.fingerprint, finding.check_id)
        ),
        None,
    )


def _today(options: GateOptions) -> date:
    return options.today or datetime.now(UTC).date()


def _waiver_problems(cases: list[GateCase], options: GateOptions, *, all_cases: bool) -> list[str]:
    """One line per waiver that expired or matches no finding, among those the selected cases concern.

    With a selection (``--case``), a waiver whose glob matches no selected case is not judged:
    it belongs to designs this gate does not look at.
    """
    waivers = options.waivers
    if waivers is None:
        return []
    today, keys = _today(options), [c.key for c in cases]
    used = {id(f.waiver) for c in cases for f in c.findings if f.waiver is not None}
    problems = []
    for index, waiver in enumerate(waivers.entries):
        if not all_cases and not any(waiver.covers(k) for k in keys):
            continue
        if waiver.expired(today):
            problems.append(
                f"{waivers.name(index)} in {waivers.path} expired on {waiver.expires:%Y-%m-%d}: not applied "
                "— renew it with a new approval, or fix the finding"
            )
        elif id(waiver) not in used:
            problems.append(
                f"{waivers.name(index)} in {waivers.path} matches no finding — remove it, or correct its "
                "fingerprint, check or case"
            )
    return problems


def _finding(row: dict[str, Any], at_or_above: bool) -> GateFinding:
    """A stored finding row (its fingerprint computed when a store older than fingerprints lacks it)."""
    evidence = row["evidence"] or ""
    line = _line(row["line_start"])
    fingerprint = row["fingerprint"] or _fingerprint(row)
    return GateFinding(
        severity=row["severity"],
        title=row["title"],
        detail=row["detail"] or "",
        section=row["section"] or "",
        evidence=evidence,
        rule_id=rule_id(row["source"], row["check_id"], row["evidence_kind"], line),
        line=line,
        end_line=_line(row["line_end"]) if line else None,
        breaks=at_or_above,
        fingerprint=fingerprint,
        position=row["position"],
        source=row["source"],
        check_id=row["check_id"],
        requirement_id=row["requirement_id"],
        requirement_line=_line(row["requirement_line"]),
        evidence_kind=row["evidence_kind"],
        at_or_above=at_or_above,
    )


def _fingerprint(row: dict[str, Any]) -> str:
    fields = ("severity", "title", "source", "check_id", "requirement_id", "evidence_kind")
    return Finding.model_validate({k: row[k] for k in fields}).fingerprint


def rule_id(source: str | None, check_id: str | None, evidence_kind: str | None, line: int | None) -> str:
    """The SARIF rule of a finding, the same in every design: its check; for a coverage finding,
    :data:`CONTRADICTED` when it shows a decision (stores older than evidence kinds: when it has
    a line) or :data:`NOT_ADDRESSED`; else one rule per analysis — never a requirement id, whose
    meaning differs between requirements documents."""
    if check_id:
        return check_id
    if source == "coverage":
        shows = evidence_kind == "shows" or (evidence_kind is None and line is not None)
        return CONTRADICTED if shows else NOT_ADDRESSED
    return {"injection": INJECTION, "model": MODEL}.get(source or "", REVIEWER)


def _line(value: int | None) -> int | None:
    """A 1-based line number, or None where the finding has none."""
    return value if value is not None and value > 0 else None


def load_baseline(path: Path) -> Baseline:
    """The baseline at ``path``: a store (the findings of its latest reviews) or a SARIF file a gate wrote.

    Raises BaselineError (missing, neither kind, a SARIF file without fingerprints) or StoreError.
    """
    if not is_store(path):
        return sarif_baseline(path)
    baseline = Baseline(path)
    latest = _latest(path, [row[0] for row in query(path, "SELECT DISTINCT case_key FROM latest_reviews")[1]])
    by_review = {row["review_id"]: key for key, row in latest.items()}
    for review_id, rows in _findings(path, list(by_review)).items():
        for row in rows:
            f = _finding(row, False)
            baseline.add(BaselineFinding(by_review[review_id], f.fingerprint, f.rule_id, f.severity, f.title))
    return baseline


def record_waivers(db: Path, result: GateResult) -> str:
    """Store the waivers the gate applied with their reviews (``finding_waivers``); return one line saying so.

    The gate's only write. When another process holds the store (a batch), nothing is recorded
    and the line says so: the verdict stands either way.
    """
    waivers = result.options.waivers
    applied = result.waived
    if waivers is None or not applied:
        return ""
    now = datetime.now(UTC).replace(tzinfo=None)
    rows = [_waiver_row(case, f, f.waiver, str(waivers.path), now) for case, f in applied if f.waiver is not None]
    try:
        with Store(db) as store:
            count = store.record_waivers(rows)
    except StoreError as exc:
        return f"the waivers applied were not recorded: {exc} — run the gate again to record them"
    return f"{count} waived finding(s) recorded with their reviews in {db}"


def _waiver_row(case: GateCase, f: GateFinding, w: Waiver, path: str, now: datetime) -> dict[str, Any]:
    return {
        "review_id": case.review_id, "position": f.position, "fingerprint": f.fingerprint,
        "matched_by": w.matched_by, "case_glob": w.case, "justification": w.justification,
        "approved_by": w.approved_by, "expires": w.expires, "waivers_file": path, "applied_at": now,
    }  # fmt: skip
