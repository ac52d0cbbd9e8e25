"""Scores and verdicts computed from what the analyses found, by one documented rubric.

With C critical findings, R recommendations, S suggestions and requirement coverage
q = (covered + ½·partial) / mandatory requirements:

* completeness = clamp(round(10·q − C − ½·R), 0, 10); **not assessed** (None) when the
  requirements document states no mandatory requirement: there is nothing to be complete against,
  and a number would measure nothing
* technical soundness = clamp(round(10 − 2·C − R − ¼·S), 0, 10)
* readiness: C > 0, soundness ≤ 3 or completeness ≤ 3 → Major Changes Required; else R > 0 → Minor
  Changes; else Ready
* assessment: C ≥ 3 or soundness ≤ 3 → Requires Rework; C ≥ 1 or completeness < 5 → Needs
  Improvement; R ≥ 1 or completeness < 8 or not assessed → Good; else Excellent

So the same findings always give the same scores, every further finding lowers a score or
leaves it, and the verdicts cannot contradict each other (:func:`contradictions` lists the
rules; a property test checks them on generated findings). Seven recommendations and no
critical finding is "Requires Rework" *and* "Major Changes Required", never "Minor Changes".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from evaluator.review.record import Assessment, Finding, Readiness


@dataclass(frozen=True)
class Verdict:
    """The scores and verdicts of one review."""

    completeness: int | None  # None: not assessed (no mandatory requirement to trace)
    soundness: int
    readiness: Readiness
    assessment: Assessment


def coverage_ratio(statuses: Sequence[str]) -> float | None:
    """(covered + ½·partial) / count, over the statuses of the mandatory requirements; None when empty."""
    if not statuses:
        return None
    return sum(1.0 if s == "covered" else 0.5 if s == "partial" else 0.0 for s in statuses) / len(statuses)


def verdict(findings: Sequence[Finding], coverage: float | None) -> Verdict:
    """Apply the rubric (module docstring) to a review's findings and its coverage ratio (0–1, or
    None when no mandatory requirement was found)."""
    c = sum(f.severity == "critical" for f in findings)
    r = sum(f.severity == "recommendation" for f in findings)
    s = sum(f.severity == "suggestion" for f in findings)
    completeness = None if coverage is None else _clamp(round(10 * coverage - c - 0.5 * r))
    soundness = _clamp(round(10 - 2 * c - r - 0.25 * s))
    low = soundness <= 3 or (completeness is not None and completeness <= 3)
    readiness: Readiness = "Major Changes Required" if c or low else "Minor Changes" if r else "Ready"
    assessment: Assessment
    if c >= 3 or soundness <= 3:
        assessment = "Requires Rework"
    elif c or (completeness is not None and completeness < 5):
        assessment = "Needs Improvement"
    elif r or completeness is None or completeness < 8:
        assessment = "Good"
    else:
        assessment = "Excellent"
    return Verdict(completeness, soundness, readiness, assessment)


def _clamp(value: float) -> int:
    return int(min(10, max(0, value)))


def contradictions(v: Verdict, findings: Sequence[Finding]) -> list[str]:
    """The rules a verdict breaks (empty when consistent): what a reader would call a contradiction."""
    critical = any(f.severity == "critical" for f in findings)
    recommendation = any(f.severity == "recommendation" for f in findings)
    broken = []
    if critical and v.readiness != "Major Changes Required":
        broken.append("a critical finding but not 'Major Changes Required'")
    if critical and v.assessment in ("Excellent", "Good"):
        broken.append(f"a critical finding but '{v.assessment}'")
    if v.assessment == "Excellent" and v.readiness != "Ready":
        broken.append("'Excellent' but not 'Ready'")
    if v.readiness == "Ready" and (critical or recommendation):
        broken.append("'Ready' with findings to fix")
    if v.assessment == "Requires Rework" and v.readiness != "Major Changes Required":
        broken.append("'Requires Rework' but not 'Major Changes Required'")
    if v.assessment == "Excellent" and (v.completeness is None or v.completeness < 8 or v.soundness < 8):
        broken.append("'Excellent' with a score below 8 or not assessed")
    if v.soundness <= 3 and v.readiness != "Major Changes Required":
        broken.append(f"soundness {v.soundness}/10 but '{v.readiness}'")
    if v.completeness is not None and v.completeness <= 3 and v.readiness != "Major Changes Required":
        broken.append(f"completeness {v.completeness}/10 but '{v.readiness}'")
    return broken
