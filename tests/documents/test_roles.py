"""Section roles: which statements of a design decide, and which describe."""

from __future__ import annotations

import pytest

from evaluator.documents.passages import passages
from evaluator.documents.roles import describes_present, document_kind, heading_role, section_roles


@pytest.mark.parametrize(
    ("heading", "role"),
    [
        ("Background", "context"),
        ("## 2. Background and Motivation", "context"),
        ("Context and Problem Statement", "context"),
        ("Current state of the exporter", "context"),
        ("Problem description", "context"),
        ("Motivation", "context"),
        ("Goals", "goals"),
        ("Non-Goals", "goals"),
        ("User Stories (Optional)", "goals"),
        ("Alternatives Considered", "alternatives"),
        ("Rationale and alternatives", "alternatives"),
        ("Rejected Ideas", "alternatives"),
        ("Alternatives to Kafka", "alternatives"),
        ("Risks and Mitigations", "risks"),
        ("Drawbacks", "risks"),
        ("Unresolved questions", "risks"),
        ("Table of Contents", "meta"),
        ("Revision History", "meta"),
        ("Appendix C: Glossary", "meta"),
        ("Proposal", None),
        ("Design Details", None),
        ("Background workers", None),
        ("Background jobs and retries", None),
        ("Contextual logging", None),
        ("Options parsing in the CLI", None),
        ("Status codes", None),
        ("3.2 Data model", None),
    ],
)
def test_a_heading_gives_its_role_only_as_a_whole_phrase(heading: str, role: str | None) -> None:
    assert heading_role(heading) == role


def test_the_document_kind_settles_context() -> None:
    arc42 = ["Introduction and Goals", "Architecture Constraints", "System Scope and Context", "Solution Strategy",
             "Building Block View", "Runtime View", "Deployment View"]  # fmt: skip
    assert document_kind(arc42) == "arc42"
    assert heading_role("System Scope and Context", "arc42") == "design"
    assert heading_role("Context and Scope", "plain") == "context"  # a Google-style design doc's background
    kep = ["Summary", "Motivation", "Goals", "Proposal", "Risks and Mitigations", "Design Details", "Test Plan",
           "Graduation Criteria", "Production Readiness Review Questionnaire", "Alternatives"]  # fmt: skip
    assert document_kind(kep) == "kep"
    assert document_kind(["Context", "Decision", "Consequences", "Status"]) == "adr"
    assert document_kind(["Overview", "API", "Storage"]) == "plain"


def test_subsections_inherit_and_a_title_classifies_only_as_a_whole_phrase() -> None:
    paths = [("Background jobs",), ("Background jobs", "Context"), ("Background jobs", "Context", "Exporter"),
             ("Background jobs", "Proposal"), ("Background jobs", "Proposal", "Risks"),
             ("Background jobs", "Alternatives", "Option B: Kafka")]  # fmt: skip
    assert section_roles(paths) == ["design", "context", "context", "design", "risks", "alternatives"]
    assert section_roles([("Problem description",), ("Problem description", "Details")]) == ["context", "context"]


@pytest.mark.parametrize(
    ("sentence", "present"),
    [
        ("Today, the exporter exposes the metrics endpoint without authentication.", True),
        ("Currently every depot keeps its own spreadsheet.", True),
        ("In the current system, retries are unbounded.", True),
        ("The legacy monolith writes IBANs to the application log.", True),
        ("The exporter serves metrics over mTLS and checks RBAC.", False),
        ("We will not add a dead-letter topic.", False),
    ],
)
def test_a_sentence_about_today_describes(sentence: str, present: bool) -> None:
    assert describes_present(sentence) is present


def test_passages_carry_their_role() -> None:
    design = (
        "# Metrics exporter\n\n## Motivation\n\nThe exporter exposes `/metrics` without authentication.\n\n"
        "## Proposal\n\nToday, scrapes are anonymous. The exporter requires mTLS and RBAC for `/metrics`.\n\n"
        "## Alternatives\n\nWe could skip authentication entirely.\n"
    )
    roles = {p.text: p.role for p in passages(design) if p.kind != "heading"}
    assert roles == {
        "The exporter exposes `/metrics` without authentication.": "context",
        "Today, scrapes are anonymous.": "context",
        "The exporter requires mTLS and RBAC for `/metrics`.": "design",
        "We could skip authentication entirely.": "alternatives",
    }
