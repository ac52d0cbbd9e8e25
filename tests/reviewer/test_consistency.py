"""A whole review agrees with itself: what one part says, no other part takes back.

Every design of two labelled datasets (one invented in our house style, one written blind in five
other styles and formats) is reviewed with the fake backend (the same findings, scores and text
as the embedded model gives, which writes only what :mod:`evaluator.reviewer.compose` keeps), and
each review is read as a reviewer's reader would read it.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest

from evaluator.api import review_files
from evaluator.backends.fake import FakeBackend
from evaluator.grounding.profiles import load_profile
from evaluator.review.record import Review
from evaluator.review.rubric import Verdict, contradictions

DATASETS = Path(__file__).parents[2] / "datasets"
CASES = sorted(p for name in ("clinic-appointments", "payroll") for p in (DATASETS / name).glob("*/tech-design.*"))
CHECKS = {c.id: c for c in load_profile().checks}
_BLOCKING = ("critical", "recommendation")


@cache
def _review(design: Path) -> Review:
    return review_files(design.parents[1] / "requirements.md", design, backend=FakeBackend.answering())


def _blocking_checks(review: Review) -> set[str]:
    return {f.check_id for f in review.findings if f.check_id and f.severity in _BLOCKING}


@pytest.fixture(params=CASES, ids=lambda p: f"{p.parents[1].name}/{p.parent.name}")
def review(request: pytest.FixtureRequest) -> Review:
    return _review(request.param)


def test_the_verdict_follows_the_findings(review: Review) -> None:
    assert review.technical_soundness_score is not None and review.implementation_readiness is not None
    assert review.overall_assessment is not None
    v = Verdict(
        review.completeness_score, review.technical_soundness_score, review.implementation_readiness,
        review.overall_assessment,
    )  # fmt: skip
    assert contradictions(v, review.findings) == []


def test_completeness_is_not_assessed_exactly_when_nothing_binds(review: Review) -> None:
    binding = [c for c in review.coverage if c.mandatory]
    assert (review.completeness_score is None) == (not binding)


def test_no_strength_claims_what_a_blocking_finding_denies(review: Review) -> None:
    for check_id in _blocking_checks(review):
        passed = CHECKS[check_id].passed
        assert not any(passed and passed.lower() in s.lower() for s in review.strengths), (check_id, review.strengths)


def test_the_checklist_leaves_unticked_what_a_blocking_finding_concerns(review: Review) -> None:
    ticked = {c.key for c in review.checklist if c.checked}
    for check_id in _blocking_checks(review):
        assert not ticked & set(CHECKS[check_id].checklist), (check_id, ticked)


def test_coverage_and_its_findings_tell_the_same_story(review: Review) -> None:
    status = {c.requirement_id: c.status for c in review.coverage}
    for f in review.findings:
        if f.source == "coverage" and f.title.endswith("is not addressed by the design"):
            assert status[f.requirement_id or ""] == "not_addressed", f.title
        if f.source == "coverage" and f.title.startswith("The design decides against"):
            assert status[f.requirement_id or ""] == "contradicted", f.title
    for rid, s in status.items():
        if s == "covered":
            assert not [f for f in review.findings if f.requirement_id == rid and f.source == "coverage"], rid


def test_the_review_reads_as_sentences_not_as_labels_or_questions(review: Review) -> None:
    sections = [s.feedback for s in review.sections]
    prose = [*review.strengths, *sections, *review.next_steps, review.risk_assessment or ""]
    for text in filter(None, prose):
        unquoted = re.sub(r"“[^”]*”|\"[^\"]*\"|`[^`]*`", "", text)
        assert "?" not in unquoted, text  # a check's question is not the reviewer's sentence
        assert text.rstrip()[-1:] in '.)”"`', text  # whole sentences
        assert not re.match(r"^[\w /-]{1,40}:\s*$", text), text  # not a bare label
