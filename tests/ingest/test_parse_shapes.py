"""Shapes of real reviews the parser once got wrong (issue 17): revised summaries, "none" sentinels,
checklists with lines beyond the profile or emoji marks, Section-by-Section entries of any level.

Each test reads a minimal input of one shape; the fixtures under tests/fixtures/reviews are
written for these tests.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from evaluator.grounding.profiles import load_profile
from evaluator.ingest.parse import ParsedReview, parse_review
from evaluator.review.record import Review
from tests.support.data import FIXTURES as TESTS_FIXTURES

FIXTURES = TESTS_FIXTURES / "reviews"
PROFILE = load_profile("python-fastapi")
TITLE = "# Technical Design Review: Loan Platform\n\n"
# Review fields a parse can fill; found_fields may only list those that hold a value.
CONTENT_FIELDS = [name for name in Review.model_fields if name not in {"schema_version", "profile", "processing"}]


def parse(body: str) -> ParsedReview:
    return parse_review(TITLE + body, PROFILE)


def fixture(name: str) -> ParsedReview:
    return parse_review((FIXTURES / name).read_text(encoding="utf-8"), PROFILE)


def review_fixtures() -> list[Path]:
    return sorted(p for p in FIXTURES.rglob("*.md") if p.name != "not-a-review-design.md")


def holds_value(review: Review, name: str) -> bool:
    value = getattr(review, name)
    return value not in (None, "", [])


# --- revised summaries ---------------------------------------------------------------------


def test_revised_summary_fixture_keeps_the_last_values_and_says_so() -> None:
    parsed = fixture("revised-summary.md")
    review = parsed.review
    assert (review.overall_assessment, review.implementation_readiness) == ("Good", "Minor Changes")
    assert (review.completeness_score, review.technical_soundness_score) == (8.0, 7.5)
    for name in ("overall_assessment", "completeness_score", "technical_soundness_score", "implementation_readiness"):
        assert any(note.startswith(f"{name}: 2 values") for note in parsed.notes), parsed.notes
    assert [f.title for f in review.findings] == ["No reconciliation job"]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(
            "## Review Summary\n\n**v1.0**\n\n- Completeness Score: 5/10\n\n**v1.1**\n\n- Completeness Score: 8/10\n",
            8.0,
            id="two-blocks-in-one-summary",
        ),
        pytest.param(
            "## Review Summary\n\n### Initial review\n\n- Completeness Score: 5/10\n\n"
            "### Re-review\n\n- Completeness Score: 8/10\n",
            8.0,
            id="two-subheadings",
        ),
        pytest.param(
            "## Review Summary\n- Completeness Score: 5/10\n\n## Strengths\n- A\n\n"
            "## Updated Review Summary — v2\n- Completeness Score: 8/10\n",
            8.0,
            id="updated-summary-heading",
        ),
        pytest.param(
            "## Review Summary\n- Completeness Score: 5/10\n\n## Final Scores\n- Completeness Score: 8/10\n",
            8.0,
            id="final-scores-heading",
        ),
        pytest.param("## Review Summary\n- Completeness Score: ~~5/10~~ 8/10\n", 8.0, id="struck-through"),
        pytest.param("## Review Summary\n- Completeness Score: 5/10 → 8/10\n", 8.0, id="arrow"),
    ],
)
def test_revised_summary_shapes_keep_the_last_value(body: str, expected: float) -> None:
    parsed = parse(body)
    assert parsed.review.completeness_score == expected
    assert any(note.startswith("completeness_score: 2 values") for note in parsed.notes), parsed.notes


def test_a_summary_value_given_once_has_no_note() -> None:
    parsed = parse("## Review Summary\n- Completeness Score: 7/10 (was 5/10 in the draft)\n")
    assert parsed.review.completeness_score == 7.0
    assert parsed.notes == []


# --- "nothing here" sentinels --------------------------------------------------------------

SENTINELS = [
    "None",
    "none",
    "NONE",
    "**NONE**",
    "**NONE** – the design has no defect that blocks implementation.",
    "**None.** All earlier blockers were fixed in v2.",
    "No critical issues were identified. However, see the recommendations below.",
    "None identified.",
    "*None identified*",
    "None at this time.",
    "N/A",
    "n/a",
    "**N/A** - not applicable to a read-only service",
    "Not applicable.",
    "No critical issues identified.",
    "no critical issues identified",
    "NO CRITICAL ISSUES IDENTIFIED.",
    "**No critical issues identified.**",
    "No critical issues were found in this revision.",
    "There are no blocking issues.",
    "No major concerns.",
    "Nothing identified",
    "nothing identified.",
    "**Nothing identified.**",
    "Nothing to report.",
    "✅ None identified.",
]


@pytest.mark.parametrize("text", SENTINELS)
@pytest.mark.parametrize("form", ["{}", "- {}"], ids=["paragraph", "bullet"])
def test_none_sentinels_produce_no_finding(text: str, form: str) -> None:
    parsed = parse("## Critical Issues (Must Fix)\n\n" + form.format(text) + "\n\n## Strengths\n- A\n")
    assert parsed.review.findings == []
    assert "findings" not in parsed.found
    assert "critical: the review states there are none" in parsed.notes


@pytest.mark.parametrize("text", SENTINELS)
def test_none_sentinels_in_list_sections_produce_no_item(text: str) -> None:
    parsed = parse(f"## Missing Elements\n\n- {text}\n\n## Strengths\n- A\n")
    assert parsed.review.missing_elements == []
    assert "missing_elements" not in parsed.found


@pytest.mark.parametrize(
    "text",
    [
        "No DLQ",
        "No dead-letter topic for credit results.",
        "None of the endpoints validate input.",
        "No retry limit causes issues under load.",
        "No issues with idempotency, but the outbox relay has no lag alert.",
        "Nothing stops a client from replaying a request.",
        "N/A values in `status` are stored as empty strings.",
    ],
)
def test_findings_that_start_like_a_sentinel_are_kept(text: str) -> None:
    findings = parse(f"## Critical Issues\n\n- {text}\n").review.findings
    assert len(findings) == 1


def test_a_sentence_after_a_none_paragraph_is_not_a_finding() -> None:
    parsed = parse("## Critical Issues\n\n**NONE**\n\nThe two blockers of v1 were fixed.\n\n## Strengths\n- A\n")
    assert parsed.review.findings == []
    assert parsed.extra_sections == {"Critical Issues": "The two blockers of v1 were fixed."}


def test_none_critical_fixture() -> None:
    parsed = fixture("none-critical.md")
    assert [(f.severity, f.title) for f in parsed.review.findings] == [("recommendation", "Add a retention job")]
    assert parsed.review.missing_elements == []
    assert "missing_elements" not in parsed.found
    assert {"critical: the review states there are none", "suggestion: the review states there are none"} <= set(
        parsed.notes
    )


# --- checklist -----------------------------------------------------------------------------


def test_checklist_fixture_keeps_every_line_in_order() -> None:
    review = fixture("checklist-fifteen.md").review
    rows = [(c.key, c.checked) for c in review.checklist]
    assert len(rows) == 15
    assert [c.text for c in review.checklist][:3] == [
        "Business requirements clearly defined",
        "Glossary of parcel states agreed",
        "Architecture decisions justified",
    ]
    assert [key for key, _ in rows if key is not None] == [item.key for item in PROFILE.checklist]
    assert [c.text for c in review.checklist if not c.checked] == ["Load test plan for peak season"]
    assert sum(key is None for key, _ in rows) == 5


def test_emoji_checklist_fixture() -> None:
    review = fixture("checklist-emoji.md").review
    assert [(c.key, c.checked) for c in review.checklist] == [
        ("business_requirements", True),
        ("architecture_decisions", True),
        ("data_model", True),
        ("api_contracts", True),
        ("integration_points", False),
        ("testing_strategy", False),
        (None, True),
        ("security", True),
        ("monitoring", False),
    ]
    assert review.checklist[4].text == "Integration points identified — the calendar sync is not described"
    assert review.checklist[6].text == "Timezone handling documented"


@pytest.mark.parametrize(
    ("line", "checked"),
    [
        ("- [x] Data model specified", True),
        ("- [X] Data model specified", True),
        ("- [ ] Data model specified", False),
        ("* [x] **Data model specified**", True),
        ("- ✅ Data model specified", True),
        ("- ✔ Data model specified", True),
        ("- ✔️ Data model specified", True),
        ("- ☑ Data model specified", True),
        ("- ☑️ Data model specified", True),
        ("- ❌ Data model specified", False),
        ("- ☐ Data model specified", False),
        ("- Data model specified ✅", True),
        ("- **Data model specified**: ❌", False),
        ("| Data model specified | ✅ |", True),
        ("| Data model specified | ❌ missing indexes |", False),
        ("✅ Data model specified", True),
    ],
)
def test_checklist_marks(line: str, checked: bool) -> None:
    table = "| Item | Status |\n|---|---|\n" if line.startswith("|") else ""
    review = parse(f"## Implementation Readiness Checklist\n\n{table}{line}\n").review
    assert [(c.key, c.checked) for c in review.checklist] == [("data_model", checked)]


def test_checklist_lines_beyond_the_profile_have_no_key() -> None:
    parsed = parse("## Implementation Readiness Checklist\n\n- [x] Coffee brewed\n- [ ] Data model specified\n")
    assert [(c.key, c.text, c.checked) for c in parsed.review.checklist] == [
        (None, "Coffee brewed", True),
        ("data_model", "Data model specified", False),
    ]
    assert "checklist" in parsed.found


def test_a_repeated_checklist_item_keeps_its_key_on_the_first_line() -> None:
    parsed = parse("## Implementation Readiness Checklist\n\n- [x] Data model specified\n- [ ] Data model specified\n")
    assert [(c.key, c.checked) for c in parsed.review.checklist] == [("data_model", True), (None, False)]


def test_checklist_lines_without_a_mark_are_reported_not_stored() -> None:
    parsed = parse("## Implementation Readiness Checklist\n\n- Data model specified\n- [x] API contracts defined\n")
    assert [c.key for c in parsed.review.checklist] == ["api_contracts"]
    assert "checklist: 1 line without a check mark not stored" in parsed.notes


# --- Section-by-Section --------------------------------------------------------------------


def test_numbered_sections_fixture_stores_every_entry() -> None:
    sections = fixture("sections-numbered.md").review.sections
    assert [(s.key, s.title) for s in sections] == [
        (None, "Overview"),
        ("business_requirements", "Business Requirements"),
        ("architecture_design", "Architecture & Design"),
        ("data_model", "Data Model"),
        (None, "Retention"),
        ("api_design", "API Design"),
        ("integration_strategy", "Integration Strategy"),
        ("testing_strategy", "Testing Strategy"),
        (None, "Glossary"),
        (None, "Open Questions"),
    ]
    assert sections[5].feedback == "Pagination is missing on the readings endpoint."
    assert sections[9].feedback == "Who owns the device registry?"


@pytest.mark.parametrize("level", ["#", "##", "###", "####", "#####", "######"])
def test_section_entries_at_any_level_below_the_heading(level: str) -> None:
    top = "#" * max(1, len(level) - 1)
    body = f"{top} Section-by-Section Review\n\n{level} 2.1 Data Model\n\nFine.\n\n{level} 2.2 Caching\n\nNone.\n"
    parsed = parse(body + "\n## Strengths\n- A\n") if level != "#" else parse(body)
    assert [(s.key, s.title, s.feedback) for s in parsed.review.sections] == [
        ("data_model", "Data Model", "Fine."),
        (None, "Caching", "None."),
    ]


def test_section_entries_at_the_same_level_as_an_empty_heading() -> None:
    body = "## Section-by-Section Review\n\n## 1. Data Model\n\nFine.\n\n## 2. Caching\n\nOk.\n\n## Strengths\n- A\n"
    parsed = parse(body)
    assert [(s.key, s.title) for s in parsed.review.sections] == [("data_model", "Data Model"), (None, "Caching")]
    assert parsed.review.strengths == ["A"]


def test_section_entries_as_bold_paragraphs() -> None:
    body = (
        "## Section-by-Section Review\n\n**1. Data Model**\n\nFine.\n\n- one index missing\n\n"
        "**Caching:** TTLs are not stated.\n\n## Strengths\n- A\n"
    )
    sections = parse(body).review.sections
    assert [(s.key, s.title, s.feedback) for s in sections] == [
        ("data_model", "Data Model", "Fine.\n\n- one index missing"),
        (None, "Caching", "TTLs are not stated."),
    ]


def test_section_group_headings_are_read_through() -> None:
    body = "## Section-by-Section Review\n\n### Core\n\n#### Data Model\n\nFine.\n\n#### API Design\n\nRESTful.\n"
    sections = parse(body).review.sections
    assert [(s.key, s.feedback) for s in sections] == [("data_model", "Fine."), ("api_design", "RESTful.")]


# --- found_fields --------------------------------------------------------------------------


@pytest.mark.parametrize("path", review_fixtures(), ids=lambda p: str(p.relative_to(FIXTURES)))
def test_found_lists_exactly_the_fields_that_hold_a_value(path: Path) -> None:
    parsed = parse_review(path.read_text(encoding="utf-8"), PROFILE)
    assert parsed.found == [name for name in CONTENT_FIELDS if holds_value(parsed.review, name)]


def test_found_without_rows_is_not_listed() -> None:
    parsed = parse(
        "## Implementation Readiness Checklist\n\nAll good.\n\n## Section-by-Section Review\n\n## Strengths\n- A\n"
    )
    assert parsed.review.checklist == [] and parsed.review.sections == []
    assert "checklist" not in parsed.found and "sections" not in parsed.found


# --- more shapes of the same kinds ----------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "No issues found with auth, but rate limiting is missing.",
        "None, except that the DLQ is missing.",
        "N/A — however the retry policy is undefined.",
    ],
)
def test_a_sentinel_that_takes_itself_back_is_a_finding(text: str) -> None:
    assert len(parse(f"## Critical Issues\n\n- {text}\n").review.findings) == 1


def test_revised_scores_in_table_columns_keep_the_last() -> None:
    table = "| Criterion | v1.0 | v1.1 |\n|---|---|---|\n| Completeness Score | 5/10 | 8/10 |\n"
    parsed = parse(f"## Review Summary\n\n{table}")
    assert parsed.review.completeness_score == 8.0
    assert parsed.notes == ["completeness_score: 2 values (5, 8); kept 8"]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("- [✅] Data model specified", [("data_model", True)]),
        ("- [❌] Data model specified", [("data_model", False)]),
        ("- Data model specified: Yes", [("data_model", True)]),
        ("- Data model specified: Partial (no indexes)", [("data_model", False)]),
        ("- Data model specified: no indexes yet", []),
        ("| Data model specified | Done |", [("data_model", True)]),
        ("- **Data model specified** — Partial ⚠️", [("data_model", False)]),
    ],
)
def test_more_checklist_marks(line: str, expected: list[tuple[str | None, bool]]) -> None:
    table = "| Item | Status |\n|---|---|\n" if line.startswith("|") else ""
    review = parse(f"## Implementation Readiness Checklist\n\n{table}{line}\n").review
    assert [(c.key, c.checked) for c in review.checklist] == expected


def test_section_entries_as_a_table() -> None:
    body = (
        "## Section-by-Section Review\n\n| Section | Feedback |\n|---|---|\n| Data Model | Fine. |\n| Caching | Ok. |\n"
    )
    sections = parse(body).review.sections
    assert [(s.key, s.title, s.feedback) for s in sections] == [
        ("data_model", "Data Model", "Fine."),
        (None, "Caching", "Ok."),
    ]


def test_section_entries_after_an_introduced_heading_at_the_same_level() -> None:
    body = (
        "## Section-by-Section Review\n\nEach part of the design in turn.\n\n## 1. Overview\n\nShort.\n\n"
        "## 2. Data Model\n\nFine.\n\n## Strengths\n- A\n"
    )
    parsed = parse(body)
    assert [(s.key, s.title) for s in parsed.review.sections] == [(None, "Overview"), ("data_model", "Data Model")]
    assert parsed.extra_sections == {"Section-by-Section Review": "Each part of the design in turn."}


def test_an_appendix_after_a_section_by_section_with_text_is_not_an_entry() -> None:
    parsed = parse("## Section-by-Section Review\n\nAll sections are adequate.\n\n## Appendix\n\nLinks.\n")
    assert parsed.review.sections == []
    assert parsed.extra_sections["Appendix"] == "Links."


# --- findings on other scales, verdicts in words (issue 26) -----------------------------------


def test_a_design_review_with_a_severity_table_is_a_review_with_its_findings() -> None:
    """It was refused as "not a review": no 'Technical Design Review:' title, findings in a table."""
    parsed = fixture("severity-table.md")
    review = parsed.review
    assert review.title == "Order Fulfilment Service"
    assert [(f.severity, f.title, f.section) for f in review.findings] == [
        ("critical", "The picking worker retries a poison message forever", "Messaging"),
        ("recommendation", "`POST /payments` has no idempotency key", "Payments"),
        ("recommendation", "No SLO is stated for order latency", "Observability"),
        ("suggestion", "The glossary is missing", "Docs"),
    ]
    assert review.findings[0].detail == "Recommendation: Add a dead-letter topic after 5 attempts."
    assert review.implementation_readiness == "Minor Changes"  # "**Approve with changes** — address ..."
    assert "findings: severity 'High' read as recommendation" in parsed.notes  # below Critical on this scale


def test_high_tops_a_scale_without_critical_and_unknown_severities_are_noted() -> None:
    table = "| Severity | Issue |\n|---|---|\n| High | No DLQ |\n| Low | No glossary |\n| P5 | Odd one |\n"
    parsed = parse_review("# Design Review: Loans\n\n## Findings\n\n" + table, PROFILE)
    assert [(f.severity, f.title) for f in parsed.review.findings] == [
        ("critical", "No DLQ"),
        ("suggestion", "No glossary"),
    ]
    assert "findings: severity 'High' read as critical" in parsed.notes
    assert "findings: a table row with severity 'P5' was not understood and not stored" in parsed.notes


def test_findings_under_warning_and_suggestion_headings_are_stored_with_a_note_for_the_rest() -> None:
    """It was accepted with only its title stored and no parse note."""
    parsed = fixture("warning-headings.md")
    review = parsed.review
    assert review.title == "Notification Service Design"
    assert [(f.severity, f.title) for f in review.findings] == [
        ("critical", "Unbounded retry queue"),
        ("recommendation", "No rate limit per tenant"),
        ("recommendation", "PII in logs"),
        ("suggestion", "Consider batching e-mail sends"),
    ]
    assert review.strengths == ["Clear separation between channels."]
    assert parsed.notes == [
        "findings: severity 'Warning' read as recommendation",
        "not understood, kept only in the markdown: 'Open Questions'",
    ]


def test_items_led_by_a_severity_word_are_findings_and_the_rest_is_noted() -> None:
    body = "## Findings\n\n- **High** — **No retry**: the consumer drops failures.\n- [Low] Typos.\n- Looks tidy.\n"
    parsed = parse_review("# Design Review: Loans\n\n" + body, PROFILE)
    assert [(f.severity, f.title, f.detail) for f in parsed.review.findings] == [
        ("critical", "No retry", "the consumer drops failures."),
        ("suggestion", "Typos", "Typos."),
    ]
    assert "findings: 1 item without a severity not stored" in parsed.notes
    assert "not understood, kept only in the markdown: 'Findings'" in parsed.notes


def test_a_proceed_with_implementation_heading_is_the_verdict_not_a_recommendation() -> None:
    parsed = fixture("proceed-heading.md")
    review = parsed.review
    assert [f.title for f in review.findings] == ["Add a reconciliation job"]
    assert review.implementation_readiness == "Minor Changes"  # the summary's own value wins over the headings
    assert parsed.notes == ["implementation_readiness: 3 values (Minor Changes, Ready, Ready); kept Minor Changes"]


@pytest.mark.parametrize(
    ("body", "readiness"),
    [
        ("## Recommendation\n\n**Approve with minor changes.** Fix the DLQ first.\n", "Minor Changes"),
        ("## Final Recommendation: Do Not Proceed\n\nThe data model is unsound.\n", "Major Changes Required"),
        ("## Verdict\n\nProceed with implementation.\n", "Ready"),
        ("## Decision\n\n✅ Approved\n", "Ready"),
    ],
)
def test_verdicts_in_words_are_the_readiness(body: str, readiness: str) -> None:
    parsed = parse(body)
    assert parsed.review.implementation_readiness == readiness
    assert parsed.review.findings == []


def test_prose_that_only_starts_like_a_verdict_is_not_one() -> None:
    parsed = parse("## Summary\n\nGo through the checklist before approving.\n\n## Strengths\n- A\n")
    assert parsed.review.implementation_readiness is None


def test_evidence_and_requirement_lines_of_a_converted_design_read_back() -> None:
    body = (
        "## Critical Issues (Must Fix)\n"
        "- **PAN stored in plain text**: encrypt it.\n"
        "  - Requirement: “the PAN shall be encrypted at rest” (requirements, line 5; requirements.pdf, page 1)\n"
        '  - Evidence: "The pan_number column is **stored in plain text**." (design, lines 11–12; '
        "tech-design.docx, paragraphs 6–7)\n"
    )
    [finding] = parse(body).review.findings
    assert (finding.line_start, finding.line_end, finding.requirement_line) == (11, 12, 5)
    assert finding.requirement_text == "the PAN shall be encrypted at rest"
    assert finding.evidence == "The pan_number column is stored in plain text." and finding.evidence_kind == "shows"
