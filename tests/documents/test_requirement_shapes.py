"""Requirement shapes of the trace-link benchmarks and of everyday specifications, each in a real-looking document."""

from __future__ import annotations

from evaluator.documents.requirements import parse_requirements

MODIS = """# MODIS Science Data Processing — requirements

## 5.2 Exception handling

- **SDP5.2-1**: Each software process shall trap and properly process all exceptions.
- **SDP5.2-4.3**: Each Software process shall handle input data sets with corrupted data as indicated by QA flags.
- **SDP5.2-4.5**: Each Software process shall handle input data sets with wrong format input files.
"""

GANTT = """# GanttProject — features

- **r1**: Create a new task which typically has a start date and an end date.
- **r2**: Delete Tasks; Delete an existing task and all its associated information.
- r3 Maintain task properties such as the start and end date.
"""

WARC = """# WARC Tools — functional and non-functional requirements

## Functional requirements

- **FR01**: FR 1 - Any software tool or application based on libwarc shall require just a single header file.
- **FR02**: FR 2 - The libwarc interfaces shall fully encapsulate internal functionality.

## Non-functional requirements

- **NFR01**: NFR 1 - Libwarc to be written in C (ANSI-C), compilable on all major platforms.
"""

USE_CASES = """# Pharmacy ordering

## Use cases

- UC12 Patient reorders a repeat prescription from the app.
- UC13 Pharmacist approves a reorder and the courier is booked.
- Delivery slot changes are confirmed by SMS.
"""

FEATURE = """# Repeat prescriptions — user stories

## US-21 — Reorder from the app

As a patient, I want to reorder a repeat prescription so that I never run out.

### Acceptance criteria

- Scenario: reorder within the allowed window
- Given a repeat prescription with two refills left
- When I reorder it 5 days before it runs out
- Then the order is sent to my pharmacy
- AC-2: Given a prescription with no refills left, when I reorder it, then I am told to contact my GP.
- Scenario: out of stock: Given the pharmacy has no stock, when I reorder, then I am offered another pharmacy.
"""


def test_glued_ids_with_dotted_sub_numbers_are_ids() -> None:
    found = parse_requirements(MODIS)
    assert [r.id for r in found] == ["SDP5.2-1", "SDP5.2-4.3", "SDP5.2-4.5"]
    assert found[1].text.startswith("Each Software process shall handle") and found[1].section.endswith("handling")


def test_lower_case_ids_count_in_bold_before_a_colon_only() -> None:
    found = parse_requirements(GANTT)
    assert [r.id for r in found] == ["r1", "r2", "R1"]  # "r3 Maintain …" is a statement without an id
    assert found[1].text.startswith("Delete Tasks; Delete an existing task")


def test_zero_padded_glued_ids_keep_their_padding_and_texts_without_shall_count() -> None:
    found = {r.id: r for r in parse_requirements(WARC)}
    assert list(found) == ["FR01", "FR02", "NFR01"]
    assert found["NFR01"].text.startswith("NFR 1 - Libwarc to be written in C") and found["NFR01"].mandatory


def test_every_item_of_a_use_case_list_is_a_requirement_shall_or_not() -> None:
    found = parse_requirements(USE_CASES)
    assert [(r.id, r.text[:24]) for r in found] == [
        ("UC12", "Patient reorders a repea"),
        ("UC13", "Pharmacist approves a re"),
        ("R1", "Delivery slot changes ar"),
    ]


def test_a_scenario_spread_over_list_items_is_one_criterion_of_its_story() -> None:
    found = {r.id: r for r in parse_requirements(FEATURE)}
    assert list(found) == ["US-21/AC1", "US-21/AC-2", "US-21/AC3"]
    assert found["US-21/AC3"].text.startswith("Scenario: out of stock: Given the pharmacy has no stock")
    first = found["US-21/AC1"]
    assert first.text == (
        "Given a repeat prescription with two refills left When I reorder it 5 days before it runs out "
        "Then the order is sent to my pharmacy"
    )  # the scenario's name line is no requirement of its own
    assert "US-21" in first.section and first.kind == "criterion"
