"""Precision on real designs: of the blocking findings a review raises, how many a senior reviewer
judged supported.

Recall needs planted defects (:mod:`evaluator.batch.calibration`); precision needs judgement. A
*judged case* is a design folder holding ``judgements.toml`` — one ``[[finding]]`` per critical or
recommendation finding a reviewer read against the design::

    [[finding]]
    fingerprint = "3f1c0a9e2b7d4c11"      # Finding.fingerprint: stable across re-reviews
    severity = "critical"                 # as raised, for the reader of the file
    title = "Personal data is written to the logs"
    verdict = "supported"                 # supported | false | unjudged
    reason = "the FNOL handler logs claimant_email at INFO (line 88)"

— and optionally ``SOURCE.toml`` saying where the design comes from and whether its own community
approved it (``approved = true``). Every judged case is reviewed into the store as ``batch`` does,
then each blocking finding of its latest review is looked up by fingerprint:

* **precision** = supported / judged (findings with no verdict yet are counted apart, never guessed);
* **shown** = blocking findings whose quote contains the words the rule matched (``shows``), or
  that state an absence tied to a requirement they quote (``absent``) — every one should be;
* **approved designs judged "Requires Rework"** — should be none.

``write_template`` appends the findings nobody judged yet to each case's ``judgements.toml`` with
``verdict = "unjudged"``, for a person to fill in. The Tricorder rule of thumb (Sadowski et al.,
"Tricorder: Building a Program Analysis Ecosystem", ICSE 2015): developers stop reading an analysis
whose effective false-positive rate exceeds about 10 %.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from evaluator.backends import BackendFactory
from evaluator.batch.cases import Case, discover
from evaluator.batch.executors import Executor
from evaluator.batch.plan import BatchObserver, BatchOptions, BatchSummary
from evaluator.batch.run import run_batch
from evaluator.errors import LabelError
from evaluator.review.record import Finding, Review
from evaluator.store import query

JUDGEMENTS_FILE = "judgements.toml"
SOURCE_FILE = "SOURCE.toml"
Verdict = Literal["supported", "false", "unjudged"]
_BLOCKING = ("critical", "recommendation")


@dataclass(frozen=True)
class Judgement:
    """A reviewer's verdict on one finding, keyed by the finding's fingerprint."""

    fingerprint: str
    verdict: Verdict
    reason: str = ""


@dataclass(frozen=True)
class JudgedCase:
    """A real design with the judgements of its findings and whether its community approved it."""

    case: Case
    judgements: dict[str, Judgement]
    approved: bool | None
    folder: Path


@dataclass
class CasePrecision:
    """One reviewed case: its verdict and each blocking finding with the judgement it got (if any)."""

    key: str
    approved: bool | None
    assessment: str | None
    findings: list[tuple[Finding, Judgement | None]] = field(default_factory=list)

    def count(self, verdict: Verdict) -> int:
        """Blocking findings judged ``verdict`` (``unjudged``: no verdict yet, or none recorded)."""
        return sum((j.verdict if j else "unjudged") == verdict for _, j in self.findings)


@dataclass
class Precision:
    """The precision of one run over a judged dataset."""

    dataset: str
    cases: list[CasePrecision]
    batch: BatchSummary

    def total(self, verdict: Verdict) -> int:
        """Blocking findings of every case judged ``verdict``."""
        return sum(c.count(verdict) for c in self.cases)

    @property
    def blocking(self) -> int:
        """Critical and recommendation findings of every case."""
        return sum(len(c.findings) for c in self.cases)

    @property
    def precision(self) -> float | None:
        """supported / judged (None when nothing is judged)."""
        judged = self.total("supported") + self.total("false")
        return self.total("supported") / judged if judged else None

    @property
    def shown(self) -> int:
        """Blocking findings that quote what the rule matched, or state an absence tied to a requirement."""
        return sum(_shown(f) for c in self.cases for f, _ in c.findings)

    @property
    def approved_rework(self) -> list[str]:
        """Designs their own community approved that the review says require rework."""
        return [c.key for c in self.cases if c.approved and c.assessment == "Requires Rework"]


def _shown(f: Finding) -> bool:
    if f.evidence_kind == "shows":
        return bool(f.matched) or f.source == "model"
    if f.evidence_kind == "absent":
        return bool(f.requirement_text)
    return False


def judged_cases(dataset: Path) -> list[JudgedCase]:
    """Every design under ``dataset`` whose folder holds a judgements.toml or a SOURCE.toml, in batch order."""
    cases = [c for c in discover(dataset, allow_empty=True) if _judged(c.design.parent)]
    if not cases:
        raise LabelError(f"{dataset} has no judged cases: no design folder holds a {JUDGEMENTS_FILE} or {SOURCE_FILE}")
    return [JudgedCase(c, _judgements(c.design.parent), _approved(c.design.parent), c.design.parent) for c in cases]


def _judged(folder: Path) -> bool:
    return (folder / JUDGEMENTS_FILE).is_file() or (folder / SOURCE_FILE).is_file()


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise LabelError(f"{path} is not valid TOML: {exc}") from None


def _judgements(folder: Path) -> dict[str, Judgement]:
    path = folder / JUDGEMENTS_FILE
    if not path.is_file():
        return {}
    found: dict[str, Judgement] = {}
    for i, entry in enumerate(_read(path).get("finding", []), 1):
        fingerprint, verdict = entry.get("fingerprint"), entry.get("verdict", "unjudged")
        if not isinstance(fingerprint, str) or verdict not in ("supported", "false", "unjudged"):
            raise LabelError(f"{path}: finding {i} needs a fingerprint and a verdict of supported, false or unjudged")
        found[fingerprint] = Judgement(fingerprint, verdict, str(entry.get("reason", "")))
    return found


def _approved(folder: Path) -> bool | None:
    path = folder / SOURCE_FILE
    value = _read(path).get("approved") if path.is_file() else None
    return value if isinstance(value, bool) else None


def measure_precision(
    dataset: Path,
    options: BatchOptions,
    *,
    backend: BackendFactory,
    observer: BatchObserver | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    executor: Executor | None = None,
) -> Precision:
    """Review every judged case of ``dataset`` into the store (as ``batch`` does), then look up the
    judgement of each blocking finding of its review. An interrupted run measures what it finished."""
    judged = judged_cases(dataset)
    summary = run_batch(
        [jc.case for jc in judged],
        options,
        backend=backend,
        source=str(dataset),
        observer=observer,
        should_stop=should_stop,
        executor=executor,
    )
    reviews = _reviews(options.db, summary)
    cases = []
    for jc in judged:
        review = reviews.get(jc.case.key)
        if review is None:
            continue
        blocking = [f for f in review.findings if f.severity in _BLOCKING]
        found = [(f, jc.judgements.get(f.fingerprint)) for f in blocking]
        cases.append(CasePrecision(jc.case.key, jc.approved, review.overall_assessment, found))
    return Precision(str(dataset), cases, summary)


def _reviews(db: Path, summary: BatchSummary) -> dict[str, Review]:
    ids = [o.review_id for o in summary.outcomes if o.review_id]
    _, rows = query(
        db, "SELECT case_key, review_json FROM reviews WHERE status = 'ok' AND list_contains(?, review_id)", [ids]
    )
    return {key: Review.model_validate_json(text) for key, text in rows if text}


def write_template(result: Precision, dataset: Path) -> int:
    """Append every blocking finding not yet in its case's judgements.toml, with ``verdict = "unjudged"``;
    the number of entries written."""
    written = 0
    folders = {jc.case.key: jc.folder for jc in judged_cases(dataset)}
    for case in result.cases:
        known = _judgements(folders[case.key])
        new = [f for f, _ in case.findings if f.fingerprint not in known]
        if not new:
            continue
        path = folders[case.key] / JUDGEMENTS_FILE
        header = "# Verdicts on the blocking findings of this design's review (evaluator/batch/precision.py).\n"
        lines = [] if path.is_file() else [header]
        for f in new:
            lines.append(
                "\n[[finding]]\n"
                f"fingerprint = {json.dumps(f.fingerprint)}\n"
                f"severity = {json.dumps(f.severity)}\n"
                f"title = {json.dumps(f.title, ensure_ascii=False)}\n"
                f"concerns = {json.dumps(_concerns(f), ensure_ascii=False)}\n"
                'verdict = "unjudged"\n'
                'reason = ""\n'
            )
            written += 1
        with path.open("a", encoding="utf-8") as out:
            out.write("".join(lines))
    return written


def _concerns(f: Finding) -> str:
    return ", ".join(x for x in (f.requirement_id, f.check_id and f"check {f.check_id}") if x)


def precision_report(result: Precision) -> dict[str, Any]:
    """The figures and per-case rows, for JSON output."""
    return {
        "dataset": result.dataset,
        "cases": len(result.cases),
        "blocking_findings": result.blocking,
        "supported": result.total("supported"),
        "false": result.total("false"),
        "unjudged": result.total("unjudged"),
        "precision": result.precision,
        "shown": result.shown,
        "approved_requires_rework": result.approved_rework,
        "per_case": [
            {
                "case_key": c.key,
                "approved": c.approved,
                "assessment": c.assessment,
                "blocking": len(c.findings),
                "supported": c.count("supported"),
                "false": c.count("false"),
                "unjudged": c.count("unjudged"),
            }
            for c in result.cases
        ],
    }
