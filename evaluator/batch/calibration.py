"""Calibration: how well a model reviews designs whose defects are known.

Every labelled case of a dataset (see :mod:`evaluator.batch.labels`) is reviewed by the ordinary
batch runner, so finished cases are skipped and a stopped calibration resumes. The metrics
are then computed from the rows read back from the store, never from reviews in memory,
so they describe exactly what ``evaluator sql`` shows.

The matching rule, deterministic and the same everywhere:

* a finding's text is its title, detail and evidence joined and normalised
  (:func:`evaluator.text.normalise`: lowercase, emphasis and quote marks removed, runs of
  whitespace collapsed to one space);
* a finding *mentions* a defect when its text contains one of the defect's ``match``
  phrases (normalised the same way) starting at a word boundary: "race" is found in
  "race condition" and "races" but not in "trace"; a phrase that starts with a symbol, such
  as "/v1", is found anywhere;
* a finding *matches* a defect when it mentions it and its severity ranks at or above the
  defect's (critical > recommendation > suggestion);
* one finding may match several defects; a defect counts once, matched by its first
  matching finding (the lowest position);
* a finding that mentions no planted defect of its case, whatever its severity, is
  *unmatched*: every finding on a sound design is unmatched.

Metrics of one calibration: recall (matched defects / planted defects; a failed review
matches none), unmatched findings, Spearman rank correlation between planted-defect count
and the completeness and the soundness score over the successful reviews (ties get average
ranks; expected negative; undefined when either side is constant), whether the sound design
scored (completeness + soundness) strictly above every defective one in its requirements
group, the share of findings with evidence whose quote was found in the design, and
validity (reviews with status ok / cases reviewed).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from evaluator.backends import BackendFactory
from evaluator.batch.executors import Executor
from evaluator.batch.labels import Defect, LabelledCase, labelled_cases
from evaluator.batch.plan import BatchObserver, BatchOptions, BatchSummary
from evaluator.batch.run import run_batch
from evaluator.store import Store, query
from evaluator.text import normalise

SEVERITY_RANK = {"suggestion": 1, "recommendation": 2, "critical": 3}


@dataclass(frozen=True)
class StoredFinding:
    """A finding as read back from the ``findings`` table."""

    position: int
    severity: str
    title: str
    detail: str | None = None
    evidence: str | None = None
    evidence_found: bool | None = None
    source: str | None = None
    requirement_id: str | None = None
    line_start: int | None = None
    evidence_kind: str | None = None  # "absent": it says something is missing, so it quotes nothing

    @property
    def located(self) -> bool:
        """Whether its evidence was found in the design at a line location."""
        return self.evidence_found is True and self.line_start is not None

    @property
    def text(self) -> str:
        """Title, detail and evidence, normalised for matching."""
        return normalise(" ".join((self.title, self.detail or "", self.evidence or "")))


@dataclass(frozen=True)
class StoredReview:
    """A review as read back from the ``reviews`` table, with its findings."""

    review_id: str
    status: str
    completeness: float | None = None
    soundness: float | None = None
    findings: tuple[StoredFinding, ...] = ()
    flagged_requirements: frozenset[str] = frozenset()  # coverage not 'covered', or named by a finding


@cache
def _pattern(phrase: str) -> re.Pattern[str]:
    phrase = normalise(phrase)
    boundary = r"(?<![a-z0-9])" if phrase[:1].isalnum() else ""  # "race" must not hit "trace"
    return re.compile(boundary + re.escape(phrase))


def mentions(defect: Defect, finding: StoredFinding) -> bool:
    """Whether the finding's text contains one of the defect's match phrases."""
    text = finding.text
    return any(_pattern(phrase).search(text) for phrase in defect.match)


def matches(defect: Defect, finding: StoredFinding) -> bool:
    """Whether the finding mentions the defect at the defect's severity or above."""
    rank = SEVERITY_RANK.get(finding.severity, 0)
    return rank >= SEVERITY_RANK[defect.severity] and mentions(defect, finding)


_REQUIREMENT_ID = re.compile(r"[A-Za-z][\w.-]*?\d[\w.-]*")


def on_requirement(defect: Defect, finding: StoredFinding) -> bool:
    """Whether a matching finding is about the requirement the defect breaks: the same id when the
    label and the finding both name one ("CT-REQ-11" and "CT-REQ-11"; of a story, the story's id
    before "/AC-n"); True when either names none
    ("quality: secrets management" is no id), since nothing then tells them apart.

    A match phrase can be met by a finding about something else ("password" in a finding about a
    committed secret, for a defect about signing without re-authentication); requiring the
    requirement too keeps such incidental matches out of :attr:`Metrics.strict_blocking_recall`."""
    label = _REQUIREMENT_ID.search(defect.requirement or "")
    named = _REQUIREMENT_ID.search(finding.requirement_id or "")
    if label is None or named is None:
        return True
    # a story's acceptance criteria are the story's: "US-05/AC-2" and "US-05/AC-1" are both US-05
    return label.group().rstrip(".-").lower() == named.group().rstrip(".-").lower()


@dataclass(frozen=True)
class DefectMatch:
    """A planted defect and the position of the first finding matching it, if any."""

    defect: Defect
    position: int | None
    on_requirement: bool = False  # a matching finding names the requirement the defect breaks (or either names none)

    @property
    def matched(self) -> bool:
        """Whether some finding matched the defect."""
        return self.position is not None


@dataclass(frozen=True)
class CaseResult:
    """One labelled case, its stored review and how the review's findings met the labels."""

    labelled: LabelledCase
    review: StoredReview
    matches: tuple[DefectMatch, ...]
    unmatched: int

    def source_of(self, match: DefectMatch) -> str | None:
        """The source of the finding that matched a defect (coverage, check, model, ...)."""
        found = [f for f in self.review.findings if f.position == match.position]
        return found[0].source if found else None

    @property
    def ok(self) -> bool:
        """Whether the review succeeded."""
        return self.review.status == "ok"

    @property
    def score(self) -> float | None:
        """Completeness plus soundness, the score designs are ranked by."""
        r = self.review
        return None if r.completeness is None or r.soundness is None else r.completeness + r.soundness


def assess(labelled: LabelledCase, review: StoredReview) -> CaseResult:
    """Match a stored review's findings against the case's planted defects."""
    findings = sorted(review.findings, key=lambda f: f.position) if review.status == "ok" else []
    found = tuple(
        DefectMatch(
            d,
            next((f.position for f in findings if matches(d, f)), None),
            any(matches(d, f) and on_requirement(d, f) for f in findings),
        )
        for d in labelled.labels.defects
    )
    unmatched = sum(not any(mentions(d, f) for d in labelled.labels.defects) for f in findings)
    return CaseResult(labelled, review, found, unmatched)


def ranks(values: Sequence[float]) -> list[float]:
    """1-based ranks, tied values sharing the average of their positions."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    result = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        for i in order[start : end + 1]:
            result[i] = (start + end) / 2 + 1
        start = end + 1
    return result


def spearman(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Spearman's rank correlation (Pearson's on average ranks); None when undefined."""
    if len(xs) != len(ys) or len(xs) < 2:
        return None
    rx, ry = ranks(xs), ranks(ys)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    vx, vy = sum((a - mx) ** 2 for a in rx), sum((b - my) ** 2 for b in ry)
    return None if vx == 0 or vy == 0 else cov / (vx * vy) ** 0.5


def sound_first(results: Sequence[CaseResult]) -> bool | None:
    """Whether every sound design outscored every defective one; None without both kinds scored."""
    scores: dict[str, list[float]] = {"sound": [], "defective": []}
    for r in results:
        if r.ok and r.score is not None:
            scores[r.labelled.labels.expected].append(r.score)
    if not scores["sound"] or not scores["defective"]:
        return None
    return min(scores["sound"]) > max(scores["defective"])


def _correlation(results: Sequence[CaseResult], score: str) -> float | None:
    """Spearman between planted-defect count and one score, over the reviews that have it."""
    pairs = [(len(r.matches), getattr(r.review, score)) for r in results if r.ok]
    pairs = [(x, y) for x, y in pairs if y is not None]
    return spearman([float(x) for x, _ in pairs], [float(y) for _, y in pairs])


@dataclass(frozen=True)
class Metrics:
    """The figures of one calibration; the ratios are None when their denominator is 0."""

    cases: int
    cases_ok: int
    defects: int
    matched: int
    findings: int
    unmatched: int
    evidence_quotes: int
    evidence_found: int
    spearman_completeness: float | None
    spearman_soundness: float | None
    groups: dict[str, bool | None]
    blocking_defects: int = 0  # critical and recommendation defects
    blocking_matched: int = 0
    blocking_on_requirement: int = 0  # of which matched by a finding on the requirement they break
    matched_by_source: dict[str, int] = field(default_factory=dict)
    sound_findings: dict[str, int] = field(default_factory=dict)  # severity -> findings on sound designs
    sound_max_recommendations: int = 0  # the most recommendations on one sound design
    analysis_findings: int = 0  # findings from coverage, checks and injection that quote the design
    analysis_located: int = 0  # of which with evidence found at a line location
    labelled_requirements: int = 0  # defects whose labels name the requirement they break
    requirements_flagged: int = 0  # of which the review traced as not covered, or named in a finding

    @property
    def recall(self) -> float | None:
        """Share of planted defects matched by a finding."""
        return self.matched / self.defects if self.defects else None

    @property
    def blocking_recall(self) -> float | None:
        """Share of critical and recommendation defects matched by a finding."""
        return self.blocking_matched / self.blocking_defects if self.blocking_defects else None

    @property
    def strict_blocking_recall(self) -> float | None:
        """Share of critical and recommendation defects matched by a finding on the requirement they
        break (:func:`on_requirement`): recall without the incidental matches of a broad phrase."""
        return self.blocking_on_requirement / self.blocking_defects if self.blocking_defects else None

    @property
    def evidence_located_share(self) -> float | None:
        """Share of analysis findings quoting the design whose quote is in it at a line location (a finding
        about something absent quotes nothing: it names the requirement and what was searched for)."""
        return self.analysis_located / self.analysis_findings if self.analysis_findings else None

    @property
    def coverage_accuracy(self) -> float | None:
        """Share of labelled broken requirements that the review flagged."""
        return self.requirements_flagged / self.labelled_requirements if self.labelled_requirements else None

    @property
    def validity(self) -> float | None:
        """Share of reviewed cases whose review succeeded."""
        return self.cases_ok / self.cases if self.cases else None

    @property
    def evidence_found_share(self) -> float | None:
        """Share of findings with an evidence quote whose quote was found in the design."""
        return self.evidence_found / self.evidence_quotes if self.evidence_quotes else None

    @property
    def sound_first(self) -> bool | None:
        """True when the sound design came first in every group where that can be told."""
        known = [v for v in self.groups.values() if v is not None]
        return all(known) if known else None


def measure(results: Sequence[CaseResult]) -> Metrics:
    """Compute every metric of a calibration from its case results."""
    ok = [r for r in results if r.ok]
    findings = [f for r in ok for f in r.review.findings]
    quotes = [f for f in findings if (f.evidence or "").strip()]
    groups: dict[str, list[CaseResult]] = {}
    for r in results:
        groups.setdefault(r.labelled.group, []).append(r)
    blocking = [(r, m) for r in results for m in r.matches if m.defect.severity != "suggestion"]
    by_source: dict[str, int] = {}
    for case, m in ((c, m) for c in results for m in c.matches if m.matched):
        source = case.source_of(m) or "unknown"
        by_source[source] = by_source.get(source, 0) + 1
    sound = [r for r in ok if r.labelled.labels.expected == "sound"]
    analysis = [f for f in findings if f.source in ("coverage", "check", "injection") and f.evidence_kind != "absent"]
    named = [(r, m.defect.requirement) for r in ok for m in r.matches if m.defect.requirement]
    return Metrics(
        blocking_defects=len(blocking),
        blocking_matched=sum(m.matched for _, m in blocking),
        blocking_on_requirement=sum(m.on_requirement for _, m in blocking),
        matched_by_source=by_source,
        sound_findings={s: sum(f.severity == s for r in sound for f in r.review.findings) for s in SEVERITY_RANK},
        sound_max_recommendations=max(
            (sum(f.severity == "recommendation" for f in r.review.findings) for r in sound), default=0
        ),
        analysis_findings=len(analysis),
        analysis_located=sum(f.located for f in analysis),
        labelled_requirements=len(named),
        requirements_flagged=sum(req in r.review.flagged_requirements for r, req in named),
        cases=len(results),
        cases_ok=len(ok),
        defects=sum(len(r.matches) for r in results),
        matched=sum(m.matched for r in results for m in r.matches),
        findings=len(findings),
        unmatched=sum(r.unmatched for r in ok),
        evidence_quotes=len(quotes),
        evidence_found=sum(f.evidence_found is True for f in quotes),
        spearman_completeness=_correlation(results, "completeness"),
        spearman_soundness=_correlation(results, "soundness"),
        groups={name: sound_first(members) for name, members in groups.items()},
    )


# --- running a calibration and storing it ----------------------------------------------------


@dataclass
class Calibration:
    """One calibration: which run and model it measured, per-case results and the metrics."""

    calibration_id: str
    dataset: str
    labelled: int
    run: dict[str, Any]
    results: list[CaseResult]
    metrics: Metrics
    batch: BatchSummary
    created_at: datetime


def calibrate(
    dataset: Path,
    options: BatchOptions,
    *,
    backend: BackendFactory,
    observer: BatchObserver | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    executor: Executor | None = None,
) -> Calibration:
    """Review every labelled case of ``dataset`` into the store, then measure and record the reviews.

    ``backend`` opens the model and ``executor`` runs the reviews as for :func:`~evaluator.batch.run.run_batch`.

    An interrupted batch is measured on what it finished but not recorded: re-run to resume.
    """
    labelled = labelled_cases(dataset)
    cases = [lc.case for lc in labelled]
    summary = run_batch(
        cases,
        options,
        backend=backend,
        source=str(dataset),
        observer=observer,
        should_stop=should_stop,
        executor=executor,
    )
    stored = read_reviews(options.db, summary)
    results = [assess(lc, stored[lc.case.key]) for lc in labelled if lc.case.key in stored]
    calibration = Calibration(
        uuid.uuid4().hex,
        str(dataset),
        len(labelled),
        _run_meta(options.db, summary.run_id),
        results,
        measure(results),
        summary,
        datetime.now(UTC).replace(tzinfo=None),
    )
    if not summary.interrupted:
        with Store(options.db, wait_s=options.lock_timeout) as store:
            store.save_calibration(run_row(calibration), case_rows(calibration), match_rows(calibration))
    return calibration


def _run_meta(db: Path, run_id: str) -> dict[str, Any]:
    """What the batch run reviewed with: model, profile and prompt version."""
    columns, rows = query(
        db, "SELECT run_id, model_name, model_sha256, profile, prompt_hash FROM runs WHERE run_id = ?", [run_id]
    )
    return dict(zip(columns, rows[0], strict=True))


def read_reviews(db: Path, summary: BatchSummary) -> dict[str, StoredReview]:
    """The stored review of each case the batch reviewed, failed to review or found cached, by case key."""
    ids = [o.review_id for o in summary.outcomes if o.review_id]
    _, rows = query(
        db,
        "SELECT case_key, review_id, status, completeness_score, technical_soundness_score FROM reviews "
        "WHERE list_contains(?, review_id)",
        [ids],
    )
    findings = _findings(db, [row[1] for row in rows])
    flagged = _flagged(db, [row[1] for row in rows])
    return {
        key: StoredReview(
            review_id,
            status,
            completeness,
            soundness,
            findings.get(review_id, ()),
            frozenset(
                flagged.get(review_id, set())
                | {f.requirement_id for f in findings.get(review_id, ()) if f.requirement_id}
            ),
        )
        for key, review_id, status, completeness, soundness in rows
    }


def _flagged(db: Path, review_ids: list[str]) -> dict[str, set[str]]:
    """Per review, the requirements its coverage did not trace as covered."""
    _, rows = query(
        db,
        "SELECT review_id, requirement_id FROM requirement_coverage "
        "WHERE list_contains(?, review_id) AND status <> 'covered'",
        [review_ids],
    )
    flagged: dict[str, set[str]] = {}
    for review_id, requirement_id in rows:
        flagged.setdefault(review_id, set()).add(requirement_id)
    return flagged


def _findings(db: Path, review_ids: list[str]) -> dict[str, tuple[StoredFinding, ...]]:
    _, rows = query(
        db,
        "SELECT review_id, position, severity, title, detail, evidence, evidence_found, source, requirement_id, "
        "line_start, evidence_kind FROM findings WHERE list_contains(?, review_id) ORDER BY review_id, position",
        [review_ids],
    )
    found: dict[str, list[StoredFinding]] = {}
    for review_id, *fields in rows:
        found.setdefault(review_id, []).append(StoredFinding(*fields))
    return {k: tuple(v) for k, v in found.items()}


def run_row(c: Calibration) -> dict[str, Any]:
    """The ``calibration_runs`` row of a calibration."""
    m = c.metrics
    known = [v for v in m.groups.values() if v is not None]
    return {
        "calibration_id": c.calibration_id, "created_at": c.created_at, "dataset": c.dataset, **c.run,
        "cases_labelled": c.labelled, "cases": m.cases, "cases_ok": m.cases_ok, "validity": m.validity,
        "defects": m.defects, "matched": m.matched, "recall": m.recall, "findings": m.findings,
        "unmatched": m.unmatched, "evidence_quotes": m.evidence_quotes, "evidence_found": m.evidence_found,
        "evidence_found_share": m.evidence_found_share, "spearman_completeness": m.spearman_completeness,
        "spearman_soundness": m.spearman_soundness, "groups": len(known), "groups_sound_first": sum(known),
        "sound_first": m.sound_first, "blocking_defects": m.blocking_defects,
        "blocking_matched": m.blocking_matched, "blocking_recall": m.blocking_recall,
        "blocking_on_requirement": m.blocking_on_requirement, "strict_blocking_recall": m.strict_blocking_recall,
        "matched_by_source": json.dumps(m.matched_by_source, sort_keys=True),
        "sound_critical": m.sound_findings.get("critical", 0),
        "sound_recommendations": m.sound_findings.get("recommendation", 0),
        "sound_suggestions": m.sound_findings.get("suggestion", 0),
        "sound_max_recommendations": m.sound_max_recommendations, "analysis_findings": m.analysis_findings,
        "analysis_located": m.analysis_located, "evidence_located_share": m.evidence_located_share,
        "labelled_requirements": m.labelled_requirements, "requirements_flagged": m.requirements_flagged,
        "coverage_accuracy": m.coverage_accuracy,
    }  # fmt: skip


def case_rows(c: Calibration) -> list[dict[str, Any]]:
    """The ``calibration_cases`` rows: one per case measured."""
    return [
        {
            "calibration_id": c.calibration_id,
            "case_key": r.labelled.case.key,
            "requirements": r.labelled.group,
            "expected": r.labelled.labels.expected,
            "review_id": r.review.review_id,
            "status": r.review.status,
            "completeness_score": r.review.completeness,
            "technical_soundness_score": r.review.soundness,
            "defects": len(r.matches),
            "matched": sum(m.matched for m in r.matches),
            "findings": len(r.review.findings),
            "unmatched": r.unmatched,
        }
        for r in c.results
    ]


def match_rows(c: Calibration) -> list[dict[str, Any]]:
    """The ``calibration_matches`` rows: one per planted defect of a measured case."""
    return [
        {
            "calibration_id": c.calibration_id,
            "case_key": r.labelled.case.key,
            "defect_id": m.defect.id,
            "severity": m.defect.severity,
            "matched": m.matched,
            "finding_position": m.position,
            "on_requirement": m.on_requirement,
        }
        for r in c.results
        for m in r.matches
    ]


def report(c: Calibration) -> dict[str, Any]:
    """The calibration as plain data (``--format json``): the stored rows plus each case's missed defects."""
    data = run_row(c)
    data["created_at"] = c.created_at.isoformat()
    data["recorded"] = not c.batch.interrupted
    data["sound_first_by_group"] = c.metrics.groups
    data["cases_detail"] = [
        {**row, "missed": [m.defect.id for m in r.matches if not m.matched]}
        for row, r in zip(case_rows(c), c.results, strict=True)
    ]
    return data
