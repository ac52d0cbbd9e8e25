"""Tests of evaluator.ingest.parse: real-looking review variants, non-reviews, and the round trip with render."""

from __future__ import annotations

import re
import string
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evaluator.errors import DocumentError
from evaluator.grounding.profiles import Profile, load_profile
from evaluator.ingest.lines import is_nothing
from evaluator.ingest.parse import ParsedReview, looks_like_review, parse_review
from evaluator.review.record import ASSESSMENTS, READINESS, SEVERITIES, ChecklistEntry, Finding, Review, SectionFeedback
from evaluator.review.render import render_markdown
from tests.support.data import FIXTURES as TESTS_FIXTURES

FIXTURES = TESTS_FIXTURES / "reviews"
PROFILE = load_profile("python-fastapi")


def parse(body: str, title: str = "# Technical Design Review: Loan Platform\n\n") -> ParsedReview:
    return parse_review(title + body, PROFILE)


def fixture(name: str) -> str:
    return (FIXTURES / name).read_bytes().decode("utf-8")


# --- summary values ------------------------------------------------------------------------

SUMMARY = "## Review Summary\n{}\n"

SCORES = [
    ("- **Completeness Score**: 7/10", 7.0),
    ("- **Completeness Score:** 7.5/10", 7.5),
    ("- Completeness Score: **7/10**", 7.0),
    ("- **Completeness**: good coverage (9.5/10)", 9.5),
    ("- Completeness — Score: 8 / 10", 8.0),
    ("- Completeness Score: 6 out of 10", 6.0),
    ("- Completeness Score: 7.5 / 10.0", 7.5),
    ("**Completeness Score:** 7/10", 7.0),
    ("| Criterion | Score |\n|---|---|\n| Completeness | 7/10 |", 7.0),
    ("| **Completeness Score** | **4/10** |\n|---|---|", 4.0),
    ("### Completeness Score: 7/10", 7.0),
    ("### Completeness\n\nScore: 8 / 10", 8.0),
    ("- **Completeness Score**: 0/10", 0.0),
    ("- **Completeness Score**: 10/10", 10.0),
    ("- **Completeness Score**: 11/10", None),
    ("- **Completeness Score**: n/a", None),
    ("- **Completeness Score**: high", None),
    ("- Completeness: solid, 7/10 overall", 7.0),
]


def expect_field(parsed: ParsedReview, name: str, expected: object) -> None:
    """The field holds ``expected``, and is listed as found exactly when it was (not None)."""
    assert getattr(parsed.review, name) == expected
    assert (name in parsed.found) == (expected is not None)


@pytest.mark.parametrize(("line", "expected"), SCORES)
def test_completeness_score_variants(line: str, expected: float | None) -> None:
    parsed = parse(SUMMARY.format(line))
    expect_field(parsed, "completeness_score", expected)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("- **Technical Soundness Score**: 6/10", 6.0),
        ("- **Technical Soundness:** (6.5/10)", 6.5),
        ("| Technical Soundness | 8/10 |\n|---|---|", 8.0),
        ("### Technical Soundness Score: 9/10", 9.0),
    ],
)
def test_technical_soundness_variants(line: str, expected: float) -> None:
    assert parse(SUMMARY.format(line)).review.technical_soundness_score == expected


def test_score_headings_outside_a_summary_section() -> None:
    parsed = parse("## Completeness Score: 7/10\n\n## Technical Soundness\n\nScore: 8 / 10\n")
    assert (parsed.review.completeness_score, parsed.review.technical_soundness_score) == (7.0, 8.0)
    assert parsed.extra_sections == {}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Good", "Good"),
        ("good", "Good"),
        ("**Needs Improvement**", "Needs Improvement"),
        ("NEEDS IMPROVEMENT", "Needs Improvement"),
        ("Requires Rework - too many gaps", "Requires Rework"),
        ("Excellent.", "Excellent"),
        ("[Good]", "Good"),
        ("✅ Excellent overall", "Excellent"),
        ("Fair", None),
        ("The design is good", None),
        ("Goodish", None),
        ("n/a", None),
    ],
)
def test_overall_assessment_values(value: str, expected: str | None) -> None:
    parsed = parse(SUMMARY.format(f"- **Overall Assessment**: {value}"))
    expect_field(parsed, "overall_assessment", expected)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Ready", "Ready"),
        ("ready for implementation", "Ready"),
        ("minor changes", "Minor Changes"),
        ("**Major Changes Required** (see critical issues)", "Major Changes Required"),
        ("Minor Changes needed", "Minor Changes"),
        ("Not ready", None),
        ("Major changes", None),
        ("n/a", None),
    ],
)
def test_implementation_readiness_values(value: str, expected: str | None) -> None:
    parsed = parse(SUMMARY.format(f"- **Implementation Readiness:** {value}"))
    assert parsed.review.implementation_readiness == expected


@pytest.mark.parametrize(
    "body",
    [
        "- **Overall Assessment**: Good\n- **Implementation Readiness**: Ready",
        "**Overall Assessment:** Good  \n**Implementation Readiness:** Ready",
        "| Field | Value |\n|---|---|\n| Overall Assessment | **Good** |\n| Implementation Readiness | Ready |",
        "### Overall Assessment\n\n**Good** — a solid design.\n\n### Implementation Readiness: Ready",
    ],
)
def test_summary_forms(body: str) -> None:
    review = parse(SUMMARY.format(body)).review
    assert (review.overall_assessment, review.implementation_readiness) == ("Good", "Ready")


def test_summary_without_a_summary_heading() -> None:
    review = parse("- **Overall Assessment**: Good\n- **Completeness Score**: 7/10\n\n## Strengths\n- Clear\n").review
    assert (review.overall_assessment, review.completeness_score, review.strengths) == ("Good", 7.0, ["Clear"])


def test_summary_section_wins_over_later_mentions() -> None:
    parsed = parse(SUMMARY.format("- Completeness Score: 7/10") + "\n## Notes\n- Completeness Score: 3/10\n")
    assert parsed.review.completeness_score == 7.0


def test_scores_in_strengths_or_findings_are_not_read() -> None:
    parsed = parse("## Strengths\n- Completeness Score: 9/10 would be nice\n\n## Critical Issues\n- Overall: Good\n")
    assert parsed.review.completeness_score is None
    assert parsed.review.overall_assessment is None


# --- headings ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "heading",
    ["## Strengths", "## 1. Strengths", "## 2) Strengths", "## ✅ Strengths", "# Strengths", "### Strengths:"],
)
def test_strengths_heading_variants(heading: str) -> None:
    parsed = parse(f"{heading}\n\n- Clear boundaries\n")
    assert parsed.review.strengths == ["Clear boundaries"]
    assert "strengths" in parsed.found


@pytest.mark.parametrize(
    ("heading", "severity"),
    [
        ("## Critical Issues (Must Fix)", "critical"),
        ("## 🔴 Critical Issues (Must Fix)", "critical"),
        ("## Critical Issues", "critical"),
        ("### 2) Critical Issues – Must Fix", "critical"),
        ("## **Critical Issues**", "critical"),
        ("# 3. Recommendations (Should Fix)", "recommendation"),
        ("## 🟡 Recommendations", "recommendation"),
        ("## Suggestions (Could Fix)", "suggestion"),
        ("#### 💡 Suggestions", "suggestion"),
    ],
)
def test_severity_heading_variants(heading: str, severity: str) -> None:
    parsed = parse(f"{heading}\n\n- **No DLQ**: consumers retry forever.\n")
    assert [(f.severity, f.title) for f in parsed.review.findings] == [(severity, "No DLQ")]


@pytest.mark.parametrize("fence", ["```", "~~~"])
def test_hash_lines_in_code_fences_are_not_headings(fence: str) -> None:
    body = f"## Strengths\n\n- Clear\n\n{fence}\n# Critical Issues\n## Missing Elements\n{fence}\n"
    parsed = parse(body)
    assert parsed.review.strengths == ["Clear"]
    assert "findings" not in parsed.found
    assert "missing_elements" not in parsed.found


def test_crlf_inline_sample() -> None:
    text = "# Technical Design Review: X\n\n## Review Summary\n- **Completeness Score**: 7/10\n\n## Strengths\n- A\n"
    review = parse_review(text.replace("\n", "\r\n"), PROFILE).review
    assert (review.title, review.completeness_score, review.strengths) == ("X", 7.0, ["A"])


# --- findings ------------------------------------------------------------------------------

FINDINGS = [
    ("- **No DLQ**: consumers retry forever.", ("No DLQ", "consumers retry forever.", "", "", None)),
    ("- **No DLQ:** consumers retry forever.", ("No DLQ", "consumers retry forever.", "", "", None)),
    ("- **No DLQ** — consumers retry forever.", ("No DLQ", "consumers retry forever.", "", "", None)),
    ("- **No DLQ**—consumers retry forever.", ("No DLQ", "consumers retry forever.", "", "", None)),
    ("- **No DLQ** - -1 retries.", ("No DLQ", "-1 retries.", "", "", None)),
    ("- No DLQ", ("No DLQ", "No DLQ", "", "", None)),
    ("1. **No DLQ**: consumers retry forever.", ("No DLQ", "consumers retry forever.", "", "", None)),
    ("- **No DLQ**", ("No DLQ", "", "", "", None)),
    (
        '- **No DLQ**: retry forever.\n  - Section: Kafka\n  - Evidence: "retries until success" (found in the design)',
        ("No DLQ", "retry forever.", "Kafka", "retries until success", True),
    ),
    (
        '- **No DLQ**\n  - **Section:** Kafka\n  - **Evidence**: "a quote" (not found in the design)',
        ("No DLQ", "", "Kafka", "a quote", False),
    ),
    ('- **No DLQ**\n  - Evidence: "a quote"', ("No DLQ", "", "", "a quote", None)),
    (
        "- Consumers retry forever. Add a dead-letter topic.",
        ("Consumers retry forever", "Consumers retry forever. Add a dead-letter topic.", "", "", None),
    ),
    (
        "- **No DLQ** for consumers leads to data loss.",
        ("No DLQ for consumers leads to data loss", "**No DLQ** for consumers leads to data loss.", "", "", None),
    ),
    (
        "- **No DLQ**: retry forever.\n  - Impact: data loss.",
        ("No DLQ", "retry forever. Impact: data loss.", "", "", None),
    ),
    (
        "### 1. No DLQ\n\nConsumers retry forever.\n\nSection: Kafka",
        ("No DLQ", "Consumers retry forever.", "Kafka", "", None),
    ),
    (
        '#### 🔴 No DLQ\n\nConsumers retry forever.\n\n- **Evidence**: "retry" (found in the design)',
        ("No DLQ", "Consumers retry forever.", "", "retry", True),
    ),
    ("Consumers retry forever on poison messages.", ("Consumers retry forever on poison messages", None, "", "", None)),
]


@pytest.mark.parametrize(("body", "expected"), FINDINGS)
def test_finding_variants(body: str, expected: tuple[Any, ...]) -> None:
    findings = parse(f"## Critical Issues (Must Fix)\n\n{body}\n").review.findings
    assert len(findings) == 1
    f = findings[0]
    title, detail, section, evidence, evidence_found = expected
    assert (f.severity, f.title, f.section, f.evidence, f.evidence_found) == (
        "critical",
        title,
        section,
        evidence,
        evidence_found,
    )
    assert f.detail == (body if detail is None else detail)


def test_plain_finding_title_is_cut_near_90_characters() -> None:
    text = "Consumers " + "retry " * 30 + "forever"
    finding = parse(f"## Critical Issues\n\n- {text}\n").review.findings[0]
    assert len(finding.title) <= 90
    assert finding.title.startswith("Consumers retry")
    assert not finding.title.endswith(" ")
    assert finding.detail == text


@pytest.mark.parametrize(
    "body",
    ["- None identified.", "None identified.", "- *None.*", "- N/A", "", "No critical issues found.", "- No issues."],
)
def test_no_findings(body: str) -> None:
    parsed = parse(f"## Critical Issues (Must Fix)\n\n{body}\n")
    assert parsed.review.findings == []
    assert "findings" not in parsed.found  # found_fields lists only what has rows
    assert ("critical: the review states there are none" in parsed.notes) == bool(body)


def test_findings_of_each_severity_in_document_order() -> None:
    body = "## Critical Issues\n1. **A**: a\n2. **B**: b\n\n## Recommendations\n- C\n\n"
    body += "## Suggestions\n### D\nd\n### E\ne\n"
    findings = parse(body).review.findings
    assert [(f.severity, f.title) for f in findings] == [
        ("critical", "A"),
        ("critical", "B"),
        ("recommendation", "C"),
        ("suggestion", "D"),
        ("suggestion", "E"),
    ]


def test_paragraph_introducing_a_list_is_not_a_finding() -> None:
    findings = parse("## Critical Issues\n\nThese must be fixed:\n\n- **A**: a\n").review.findings
    assert [f.title for f in findings] == ["A"]


def test_finding_subsections_with_deeper_headings() -> None:
    body = "## Critical Issues\n\n### No DLQ\n\n#### Impact\n\nData loss.\n\n#### Fix\n\nAdd a DLQ.\n"
    findings = parse(body).review.findings
    assert [(f.title, f.detail) for f in findings] == [("No DLQ", "Data loss. Add a DLQ.")]


# --- section-by-section --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("heading", "key"),
    [
        ("### Architecture & Design", "architecture_design"),
        ("### 2. Architecture and Design", "architecture_design"),
        ("### architecture & design:", "architecture_design"),
        ("### 🔐 Security & Compliance", "security_compliance"),
        ("#### 4) API Design", "api_design"),
        ("### Performance and Scalability (NFRs)", "performance_scalability"),
    ],
)
def test_section_titles_are_matched_to_the_profile(heading: str, key: str) -> None:
    parsed = parse(f"## Section-by-Section Review\n\n{heading}\n\nLooks fine.\n")
    title = next(s.title for s in PROFILE.sections if s.key == key)
    assert parsed.review.sections == [SectionFeedback(key=key, title=title, feedback="Looks fine.")]
    assert "sections" in parsed.found


def test_section_feedback_keeps_its_markdown_and_unknown_sections_have_no_key() -> None:
    body = (
        "## 4. Section-by-Section Review\n\n### Data Model\n\nGood.\n\n- Index `status`\n\n#### Detail\n\nMore.\n\n"
        "### Documentation\n\nNo runbook.\n"
    )
    parsed = parse(body)
    assert parsed.review.sections[0].feedback == "Good.\n\n- Index `status`\n\n#### Detail\n\nMore."
    assert parsed.review.sections[1] == SectionFeedback(key=None, title="Documentation", feedback="No runbook.")
    assert parsed.extra_sections == {}


def test_section_feedback_as_bold_bullets() -> None:
    parsed = parse(
        "## Section-by-Section Review\n\n- **Data Model**: Good.\n- **API Design:** Clear.\n- **Other**: x\n"
    )
    assert [(s.key, s.feedback) for s in parsed.review.sections] == [
        ("data_model", "Good."),
        ("api_design", "Clear."),
        (None, "x"),
    ]


def test_section_headings_at_top_level() -> None:
    parsed = parse("## Strengths\n- A\n\n## Data Model\n\nNormalised.\n")
    assert [(s.key, s.feedback) for s in parsed.review.sections] == [("data_model", "Normalised.")]


# --- checklist, lists, risk ------------------------------------------------------------------


def test_checklist_variants() -> None:
    body = (
        "## Implementation Readiness Checklist\n\n"
        "- [x] Business requirements clearly defined\n"
        "- [X] Data model specified — see §4\n"
        "- [ ] API contracts defined (no error model)\n"
        "- [ ] Observability dashboards agreed\n"
        "* [x] **Risk mitigation planned**\n"
        "- [x] Data model specified\n"
    )
    parsed = parse(body)
    # every line, as written, in its order; a repeated item keeps its key on the first line only
    assert [(c.key, c.text, c.checked) for c in parsed.review.checklist] == [
        ("business_requirements", "Business requirements clearly defined", True),
        ("data_model", "Data model specified — see §4", True),
        ("api_contracts", "API contracts defined (no error model)", False),
        (None, "Observability dashboards agreed", False),
        ("risk_mitigation", "Risk mitigation planned", True),
        (None, "Data model specified", True),
    ]


def test_checklist_with_only_unknown_items_is_stored_without_keys() -> None:
    parsed = parse("## Implementation Readiness Checklist\n\n- [x] Coffee brewed\n")
    assert parsed.review.checklist == [ChecklistEntry(key=None, text="Coffee brewed", checked=True)]
    assert "checklist" in parsed.found


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("- Add a DLQ\n- Encrypt PII", ["Add a DLQ", "Encrypt PII"]),
        ("1. Add a DLQ\n2. Encrypt PII", ["Add a DLQ", "Encrypt PII"]),
        ("1) **Add a DLQ** first\n2) Encrypt PII", ["**Add a DLQ** first", "Encrypt PII"]),
        ("Add a DLQ before anything\nelse is built.", ["Add a DLQ before anything else is built."]),
        ("- Add a DLQ\n  - for every consumer group", ["Add a DLQ for every consumer group"]),
        ("### Now\n- Add a DLQ\n### Later\n- Encrypt PII", ["Add a DLQ", "Encrypt PII"]),
        ("- None identified.", []),
    ],
)
def test_list_sections(body: str, expected: list[str]) -> None:
    for heading, name in [
        ("## Strengths", "strengths"),
        ("## 5. Missing Elements", "missing_elements"),
        ("## Alternative Approaches", "alternative_approaches"),
        ("## 🚀 Recommended Next Steps", "next_steps"),
    ]:
        parsed = parse(f"{heading}\n\n{body}\n")
        assert getattr(parsed.review, name) == expected
        assert (name in parsed.found) == bool(expected)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("The main risk is data loss.", "The main risk is data loss."),
        ("- Data loss\n- PII leak", "- Data loss\n- PII leak"),
        ("Some risk.\n\n### Technical\n\nLag.", "Some risk.\n\n### Technical\n\nLag."),
        ("Not assessed.", None),
        ("", None),
    ],
)
def test_risk_assessment(body: str, expected: str | None) -> None:
    parsed = parse(f"## Risk Assessment Review\n\n{body}\n\n<!-- note -->\n")
    expect_field(parsed, "risk_assessment", expected)


# --- title, comments, missing fields -------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("# Technical Design Review: Loan Platform\n\n## Strengths\n- A\n", "Loan Platform"),
        ("# Technical Design Review — Loan Platform\n\n## Strengths\n- A\n", "Loan Platform"),
        ("# **Technical Design Review: Loan Platform**\n\n## Strengths\n- A\n", "Loan Platform"),
        ("<!-- x -->\n# Loan Platform Review\n\n## Strengths\n- A\n## Critical Issues\n- B\n", "Loan Platform Review"),
        ("## Technical Design Review: Loan Platform\n\n## Strengths\n- A\n", "Loan Platform"),
    ],
)
def test_title(text: str, expected: str) -> None:
    parsed = parse_review(text, PROFILE)
    assert parsed.review.title == expected
    assert "title" in parsed.found


def test_no_title() -> None:
    parsed = parse_review("## Strengths\n- A\n\n## Critical Issues\n- B\n", PROFILE)
    assert parsed.review.title == ""
    assert "title" not in parsed.found


def test_html_comments_are_ignored() -> None:
    text = (
        "# Technical Design Review: X\n\n## Strengths\n<!-- reviewer: keep short -->\n- A\n\n"
        "## Risk Assessment Review\nLow.\n\n<!-- Generated by evaluator 0.1.0 · model: m -->\n"
    )
    parsed = parse_review(text, PROFILE)
    assert (parsed.review.strengths, parsed.review.risk_assessment) == (["A"], "Low.")
    assert parsed.extra_sections == {}


def test_missing_fields_are_none_and_not_found() -> None:
    parsed = parse("## Strengths\n- A\n")
    review = parsed.review
    assert parsed.found == ["title", "strengths"]
    assert review.overall_assessment is None
    assert review.completeness_score is None
    assert review.technical_soundness_score is None
    assert review.implementation_readiness is None
    assert review.risk_assessment is None
    assert review.findings == review.sections == review.checklist == []
    assert (review.profile, review.model, review.usage) == ("python-fastapi", None, None)
    assert review.processing is not None and review.processing.mode == "ingested"


def test_unknown_sections_are_kept() -> None:
    parsed = parse("## Strengths\n- A\n\n## Appendix\n\nNotes.\n\n### Sources\n\n- v1.3\n")
    assert parsed.extra_sections == {"Appendix": "Notes.\n\n### Sources\n\n- v1.3"}


def test_unknown_heading_around_known_sections_is_transparent() -> None:
    parsed = parse("## Detailed Findings\n\nIntro.\n\n### Critical Issues\n- **A**: a\n\n### Strengths\n- S\n")
    assert [f.title for f in parsed.review.findings] == ["A"]
    assert parsed.review.strengths == ["S"]
    assert parsed.extra_sections == {"Detailed Findings": "Intro."}


# --- fixtures ----------------------------------------------------------------------------


def test_assistant_style_fixture() -> None:
    parsed = parse_review(fixture("assistant-style.md"), PROFILE)
    review = parsed.review
    assert review.title == "Loan Origination Platform — R1"
    assert (review.overall_assessment, review.implementation_readiness) == (
        "Needs Improvement",
        "Major Changes Required",
    )
    assert (review.completeness_score, review.technical_soundness_score) == (7.0, 6.5)
    assert review.strengths == [
        "**Transactional outbox** keeps PostgreSQL and Kafka consistent.",
        "Clear service boundaries between `loan-api`, `credit-service` and `decision-service`.",
    ]
    assert review.findings == [
        Finding(
            severity="critical",
            title="No dead-letter topic for credit results",
            detail="The `credit-service` consumer retries forever on a poison message.",
            section="Kafka Topics & Messages",
            evidence="retries until the message succeeds",
            evidence_found=True,
        ),
        Finding(
            severity="critical", title="PAN stored in clear text", detail="`pan_number` is a plain `VARCHAR` column."
        ),
        Finding(
            severity="recommendation",
            title="Add idempotency keys",
            detail="the intake endpoint accepts duplicate submissions.",
        ),
        Finding(
            severity="recommendation",
            title="Version the event schemas",
            detail="Version the event schemas. Consumers break when a field is renamed.",
        ),
    ]
    assert [s.key for s in review.sections] == [
        "business_requirements",
        "architecture_design",
        "security_compliance",
        None,
    ]
    assert review.sections[3] == SectionFeedback(key=None, title="Documentation", feedback="The runbook is missing.")
    assert review.sections[1].feedback.endswith('consumer.subscribe(["loan.applications.v1"])\n```')
    assert review.missing_elements == ["Capacity estimates for Kafka partitions", "Backup and restore procedure"]
    assert review.alternative_approaches == ["Use Debezium change data capture instead of a polling outbox relay."]
    assert (
        review.risk_assessment
        == "The main risk is **data loss** on consumer failure.\n\n- Mitigation: a DLQ per consumer group."
    )
    assert [(c.key, c.checked) for c in review.checklist] == [
        ("business_requirements", True),
        ("architecture_decisions", True),
        ("data_model", False),
        ("api_contracts", True),
        (None, False),
        ("risk_mitigation", False),
    ]
    assert review.next_steps == ["Add a dead-letter topic per consumer group.", "Encrypt `pan_number`."]
    assert parsed.extra_sections == {"Appendix: Reviewer Notes": "Reviewed against requirements v1.3."}
    assert parsed.found == [name for name in Review.model_fields if name in FOUND_ALL]


FOUND_ALL = {
    "title",
    "overall_assessment",
    "completeness_score",
    "technical_soundness_score",
    "implementation_readiness",
    "strengths",
    "findings",
    "sections",
    "missing_elements",
    "alternative_approaches",
    "risk_assessment",
    "checklist",
    "next_steps",
}


def test_headings_style_fixture() -> None:
    parsed = parse_review(fixture("headings-style.md"), PROFILE)
    review = parsed.review
    assert review.title == "Design Review"
    assert (review.overall_assessment, review.implementation_readiness) == ("Good", "Ready")
    assert (review.completeness_score, review.technical_soundness_score) == (8.5, 8.0)
    assert review.strengths == ["The design is small and well argued."]
    assert review.findings == [
        Finding(severity="critical", title="Missing audit log", detail="Decisions are not audited.", section="Security")
    ]
    assert review.next_steps == ["Add an audit table."]
    assert parsed.found == [
        "title",
        "overall_assessment",
        "completeness_score",
        "technical_soundness_score",
        "implementation_readiness",
        "strengths",
        "findings",
        "next_steps",
    ]


def test_crlf_fixture() -> None:
    raw = (FIXTURES / "crlf.md").read_bytes()
    assert b"\r\n" in raw and raw.count(b"\n") == raw.count(b"\r\n")
    parsed = parse_review(raw.decode("utf-8"), PROFILE)
    review = parsed.review
    assert review.title == "Payments Gateway"
    assert (review.overall_assessment, review.implementation_readiness) == ("Excellent", "Ready")
    assert (review.completeness_score, review.technical_soundness_score) == (9.0, 9.5)
    assert review.strengths == ["Idempotent consumers"]
    assert review.findings == [
        Finding(
            severity="recommendation",
            title="Rotate keys",
            detail="Document key rotation.",
            section="Security",
            evidence="keys never rotate",
            evidence_found=False,
        )
    ]
    assert [(s.key, s.feedback) for s in review.sections] == [("data_model", "Well normalised.")]
    assert review.risk_assessment == "Low risk."
    assert [(c.key, c.checked) for c in review.checklist] == [("data_model", True), ("monitoring", False)]
    assert review.next_steps == ["Document key rotation"]
    assert "\r" not in repr(review.model_dump())


# --- not a review ------------------------------------------------------------------------

NOT_REVIEWS = [
    pytest.param(fixture("not-a-review-design.md"), id="design-doc"),
    pytest.param("", id="empty"),
    "# evaluator\n\nOffline reviews of design documents.\n\n## Install\n\n```\npip install evaluator\n```\n",
    "# Design\n\n## Data Model\n\nTables.\n\n## API Design\n\nREST.\n\n## Risks\n\n- Lag\n\n## Next Steps\n\n- Ship\n",
    "# Reviewer prompt\n\n```markdown\n# Technical Design Review: [Title]\n## Strengths\n## Critical Issues\n```\n",
]


@pytest.mark.parametrize("text", NOT_REVIEWS)
def test_not_a_review(text: str) -> None:
    assert not looks_like_review(text)
    with pytest.raises(DocumentError, match="not a review"):
        parse_review(text, PROFILE)


@pytest.mark.parametrize(
    "text",
    [
        "# Technical Design Review: X\n",
        "## Strengths\n- A\n\n## Critical Issues\n- B\n",
        "# Notes\n\n- **Completeness Score**: 7/10\n",
    ],
)
def test_looks_like_review(text: str) -> None:
    assert looks_like_review(text)


# --- round trip with render_markdown --------------------------------------------------------

_ALPHABET = string.ascii_letters + string.digits + " .,;:!?'()-&/"
# Texts render_markdown itself writes for "nothing" ("- None identified.", "Not assessed.") are not generated.
_LIKE_NOTHING = re.compile(r"(?i)(none|n/a|no |not assessed)")


@st.composite
def texts(draw: st.DrawFn, max_size: int = 50) -> str:
    """Single-line, stripped, non-empty text starting with a letter and not ending with ':'."""
    first = draw(st.sampled_from(string.ascii_letters))
    rest = draw(st.text(alphabet=_ALPHABET, max_size=max_size))
    text = " ".join(f"{first}{rest}".split()).rstrip(": ")
    return f"A {text}" if _LIKE_NOTHING.match(text) or is_nothing(text) else text


@st.composite
def findings(draw: st.DrawFn) -> Finding:
    evidence = draw(st.just("") | texts())
    return Finding(
        severity=draw(st.sampled_from(SEVERITIES)),
        title=draw(texts()),
        detail=draw(st.just("") | texts(max_size=120)),
        section=draw(st.just("") | texts()),
        evidence=evidence,
        evidence_found=draw(st.none() | st.booleans()) if evidence else None,
    )


@st.composite
def sections(draw: st.DrawFn, profile: Profile) -> list[SectionFeedback]:
    """The profile's sections and entries it does not have (no key), in any order."""
    chosen = draw(st.lists(st.sampled_from(profile.sections), unique_by=lambda s: s.key))
    known = [SectionFeedback(key=s.key, title=s.title, feedback=draw(texts(max_size=120))) for s in chosen]
    other = st.builds(SectionFeedback, key=st.none(), title=texts().map("Note on {}".format), feedback=texts())
    return draw(st.permutations(known + draw(st.lists(other, max_size=3))))


@st.composite
def checklists(draw: st.DrawFn, profile: Profile) -> list[ChecklistEntry]:
    """The profile's items and lines it does not have (no key), in any order."""
    chosen = draw(st.lists(st.sampled_from(profile.checklist), unique_by=lambda c: c.key))
    known = [ChecklistEntry(key=c.key, text=c.text, checked=draw(st.booleans())) for c in chosen]
    other = st.builds(ChecklistEntry, key=st.none(), text=texts().map("Note {}".format), checked=st.booleans())
    return draw(st.permutations(known + draw(st.lists(other, max_size=3))))


def reviews(profile: Profile) -> st.SearchStrategy[Review]:
    scores = st.none() | st.integers(0, 20).map(lambda n: n / 2)
    items = st.lists(texts(), max_size=4)
    return st.builds(
        Review,
        title=texts(),
        profile=st.just(profile.name),
        overall_assessment=st.none() | st.sampled_from(ASSESSMENTS),
        completeness_score=scores,
        technical_soundness_score=scores,
        implementation_readiness=st.none() | st.sampled_from(READINESS),
        strengths=items,
        findings=st.lists(findings(), max_size=6),
        sections=sections(profile),
        missing_elements=items,
        alternative_approaches=items,
        risk_assessment=st.none() | texts(max_size=200),
        checklist=checklists(profile),
        next_steps=items,
        model=st.none() | texts(),
    )


ROUND_TRIP = [
    "title",
    "overall_assessment",
    "completeness_score",
    "technical_soundness_score",
    "implementation_readiness",
    "strengths",
    "sections",
    "missing_elements",
    "alternative_approaches",
    "risk_assessment",
    "checklist",
    "next_steps",
]


def by_severity(review: Review) -> list[Finding]:
    """render_markdown groups findings by severity; their order within a severity is kept."""
    return [f for severity in SEVERITIES for f in review.findings_of(severity)]


@settings(max_examples=200, deadline=None)
@given(reviews(PROFILE))
def test_round_trip_with_render_markdown(review: Review) -> None:
    parsed = parse_review(render_markdown(review), PROFILE)
    assert {name: getattr(parsed.review, name) for name in ROUND_TRIP} == {
        name: getattr(review, name) for name in ROUND_TRIP
    }
    assert by_severity(parsed.review) == by_severity(review)
    assert parsed.extra_sections == {}
    assert parsed.review.profile == PROFILE.name


# render_markdown writes these values in a form no parser can read back; the fix belongs in render.py.
RENDER_LOSSES = [
    pytest.param({"strengths": ["None identified."]}, id="none-identified"),
    pytest.param({"risk_assessment": "Not assessed."}, id="not-assessed"),
    pytest.param({"strengths": ["# Big win"]}, id="heading-in-item"),
    pytest.param({"findings": [Finding(severity="critical", title="Retry*", detail="x")]}, id="unescaped-markup"),
    pytest.param(
        {"sections": [SectionFeedback(key="data_model", title="Data Model", feedback="Ok\n===")]}, id="setext"
    ),
    pytest.param(
        {"sections": [SectionFeedback(key="data_model", title="Data Model", feedback="<!-- x")], "next_steps": ["A"]},
        id="open-comment",
    ),
]


def test_a_detail_ending_in_a_colon_survives() -> None:
    finding = Finding(severity="critical", title="T", detail="ends with:")
    parsed = parse_review(render_markdown(Review(title="T", profile=PROFILE.name, findings=[finding])), PROFILE)
    assert parsed.review.findings == [finding]


# Known, accepted losses: sentinel texts that read as "nothing", and text the renderer escapes
# so that model output cannot change the review's structure (see test_render.py).
@pytest.mark.xfail(strict=True, reason="render_markdown loses this value")
@pytest.mark.parametrize("fields", RENDER_LOSSES)
def test_render_losses(fields: dict[str, Any]) -> None:
    review = Review(title="T", profile=PROFILE.name, **fields)
    parsed = parse_review(render_markdown(review), PROFILE).review
    assert {name: getattr(parsed, name) for name in fields} == fields
