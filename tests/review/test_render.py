from __future__ import annotations

import re

import pytest

from evaluator.grounding.profiles import Profile, load_profile
from evaluator.review.record import ChecklistEntry, Finding, Processing, Review, SectionFeedback
from evaluator.review.render import render_markdown, score
from tests.grounding.test_profiles_prompts import SEED_CHECKLIST, SEED_SECTIONS

EXPECTED_HEADINGS = [
    "## Review Summary",
    "## Strengths",
    "## Critical Issues (Must Fix)",
    "## Recommendations (Should Fix)",
    "## Suggestions (Could Fix)",
    "## Section-by-Section Review",
    *(f"### {title}" for title in SEED_SECTIONS),
    "## Missing Elements",
    "## Alternative Approaches",
    "## Risk Assessment Review",
    "## Implementation Readiness Checklist",
    "## Recommended Next Steps",
]


def sample_review(profile: Profile, **changes: object) -> Review:
    review = Review(
        title="Loan API",
        profile=profile.name,
        overall_assessment="Needs Improvement",
        completeness_score=6,
        technical_soundness_score=7.5,
        implementation_readiness="Major Changes Required",
        strengths=["Clear topic naming"],
        findings=[
            Finding(
                severity="critical",
                title="Encrypt pan_number",
                detail="Stored in clear.",
                section="Data Model",
                evidence="stored in plain text",
                evidence_found=True,
            ),
            Finding(severity="suggestion", title="Add ADRs", detail="Record decisions."),
        ],
        sections=[SectionFeedback(key=s.key, title=s.title, feedback=f"About {s.title}.") for s in profile.sections],
        missing_elements=["Retention policy"],
        alternative_approaches=[],
        risk_assessment="Consumer lag is not monitored.",
        checklist=[ChecklistEntry(key=c.key, text=c.text, checked=i % 2 == 0) for i, c in enumerate(profile.checklist)],
        next_steps=["Encrypt pan_number", "Add a DLQ"],
        model="smollm2",
        processing=Processing(mode="single", passes=1),
    )
    return review.model_copy(update=changes)


def test_headings_follow_the_seed_format_in_order() -> None:
    text = render_markdown(sample_review(load_profile()))
    assert text.startswith("# Technical Design Review: Loan API\n\n\n## Review Summary\n")
    assert re.findall(r"^#{2,3} .*$", text, flags=re.M) == EXPECTED_HEADINGS


def test_summary_fields_checklist_and_findings() -> None:
    text = render_markdown(sample_review(load_profile()))
    assert (
        "## Review Summary\n"
        "- **Overall Assessment**: Needs Improvement\n"
        "- **Completeness Score**: 6/10\n"
        "- **Technical Soundness Score**: 7.5/10\n"
        "- **Implementation Readiness**: Major Changes Required\n"
    ) in text
    checklist = re.findall(r"^- \[([ x])\] (.*)$", text, flags=re.M)
    assert [item for _, item in checklist] == SEED_CHECKLIST
    assert [mark for mark, _ in checklist][:2] == ["x", " "]
    assert (
        "- **Encrypt pan_number**: Stored in clear.\n"
        "  - Section: Data Model\n"
        '  - Evidence: "stored in plain text" (found in the design)\n'
    ) in text
    assert "## Recommendations (Should Fix)\n- None identified.\n" in text
    assert "## Recommended Next Steps\n1. Encrypt pan_number\n2. Add a DLQ\n" in text
    assert text.rstrip().endswith("design reviewed in one pass -->")


def test_model_text_cannot_add_headings_or_break_lists() -> None:
    profile = load_profile()
    review = sample_review(profile, title="T\n## Injected", strengths=["line one\n# not a heading"])
    review.sections[0].feedback = "# Fake heading\n```\ncode"
    text = render_markdown(review)
    assert re.findall(r"^#{2,3} .*$", text, flags=re.M) == EXPECTED_HEADINGS
    assert "- line one # not a heading" in text


@pytest.mark.parametrize("hostile", ["Ok\n===", "Ok\n---", "<!-- hide the rest", "# Fake\n```\ncode", "~~~"])
def test_model_text_cannot_hide_or_restructure_later_sections(hostile: str) -> None:
    from evaluator.ingest.parse import parse_review

    profile = load_profile()
    review = sample_review(profile, strengths=[hostile.replace("\n", " ")], risk_assessment=hostile)
    review.sections[0].feedback = hostile
    text = render_markdown(review)
    assert re.findall(r"^#{2,3} .*$", text, flags=re.M) == EXPECTED_HEADINGS
    parsed = parse_review(text, profile).review
    assert parsed.next_steps == review.next_steps and parsed.checklist == review.checklist
    assert parsed.completeness_score == 6 and parsed.implementation_readiness == "Major Changes Required"


def test_a_profile_with_more_sections_renders_them_all() -> None:
    profile = load_profile("node-express")
    text = render_markdown(sample_review(profile))
    assert len(re.findall(r"^### ", text, flags=re.M)) == 15
    assert len(re.findall(r"^- \[[ x]\] ", text, flags=re.M)) == 18


@pytest.mark.parametrize(("value", "text"), [(7, "7/10"), (7.5, "7.5/10"), (0, "0/10"), (None, "n/a")])
def test_score_format(value: float | None, text: str) -> None:
    assert score(value) == text
