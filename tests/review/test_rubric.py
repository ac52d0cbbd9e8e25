"""The rubric: scores and verdicts follow the findings and never contradict each other."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from evaluator.review.record import Finding
from evaluator.review.rubric import contradictions, coverage_ratio, verdict

severities = st.sampled_from(["critical", "recommendation", "suggestion"])
findings_lists = st.lists(severities.map(lambda s: Finding(severity=s, title=f"a {s}")), max_size=12)
coverages = st.floats(min_value=0, max_value=1)


@given(findings_lists, coverages)
def test_verdicts_never_contradict_each_other(findings: list[Finding], coverage: float) -> None:
    v = verdict(findings, coverage)
    assert contradictions(v, findings) == []
    assert 0 <= v.completeness <= 10 and 0 <= v.soundness <= 10


@given(findings_lists, coverages, severities)
def test_one_more_finding_never_raises_a_score(findings: list[Finding], coverage: float, severity: str) -> None:
    before = verdict(findings, coverage)
    after = verdict([*findings, Finding(severity=severity, title="one more")], coverage)  # type: ignore[arg-type]
    assert after.completeness <= before.completeness and after.soundness <= before.soundness
    order = ["Excellent", "Good", "Needs Improvement", "Requires Rework"]
    assert order.index(after.assessment) >= order.index(before.assessment)


@given(findings_lists, coverages)
def test_the_same_findings_give_the_same_scores(findings: list[Finding], coverage: float) -> None:
    assert verdict(findings, coverage) == verdict(list(reversed(findings)), coverage)


def test_the_documented_examples() -> None:
    critical = Finding(severity="critical", title="c")
    recommendation = Finding(severity="recommendation", title="r")
    assert verdict([], 1.0).assessment == "Excellent" and verdict([], 1.0).readiness == "Ready"
    v = verdict([critical, recommendation], 0.9)
    assert (v.completeness, v.soundness, v.readiness, v.assessment) == (8, 7, "Major Changes Required",
                                                                        "Needs Improvement")  # fmt: skip
    assert verdict([critical] * 3, 1.0).assessment == "Requires Rework"
    assert verdict([], 0.3).assessment == "Needs Improvement"  # nothing wrong, but most requirements untraced
    assert coverage_ratio(["covered", "partial", "not_addressed", "contradicted"]) == 0.375
    assert coverage_ratio([]) is None  # nothing binding to trace: completeness not assessed
