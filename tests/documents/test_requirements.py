"""Requirements as data: statements with stable ids from several real-looking styles."""

from __future__ import annotations

from evaluator.documents.requirements import key_terms, parse_requirements

FR_TABLE = """# Requirements

## 3. Functional requirements

| ID | Requirement |
|----|-------------|
| FR-1 | A client can submit an application with `pan_number`. |
| FR-2 | The submission endpoint returns `202 Accepted`. |

## 4. Non-functional requirements

| ID | Category | Requirement |
|----|----------|-------------|
| NFR-1 | Security | All endpoints require OAuth2 authentication. |
"""

SHALL_LIST = """# Parcel service requirements

## Background

Couriers deliver about 40,000 parcels a day; today every depot uses spreadsheets.

## Goals

- Cut failed deliveries by a third.

## Functional requirements

1. The service shall accept carrier webhooks and answer 202 Accepted.
2. The service must not create a second active assignment for a parcel.
- Notifications should be sent by SMS or e-mail.

## Performance

| Metric | Target |
|---|---|
| Peak parcels per hour | 12,000 |
| API latency | The API shall answer within 250 ms at p95. |

## Data protection

Personal data is handled under the group's privacy policy. The service shall encrypt the recipient's
phone number at field level. Retention follows the legal minimum.

## Out of scope

- Billing.
- The design must be ready to add returns later.
"""

MIXED_IDS = """# Claims

**REQ-01**: Claim intake must answer 202 Accepted.
**REQ-02** Intake must accept an `Idempotency-Key` header.

- SEC_3 — every call is authenticated with OIDC tokens.
- 3.2.1 The payout worker shall retry with backoff.
- US-4.1: As an adjuster I can see my open claims.
"""


def test_ids_from_tables_keep_the_category_and_the_text() -> None:
    found = {r.id: r for r in parse_requirements(FR_TABLE)}
    assert list(found) == ["FR-1", "FR-2", "NFR-1"]
    assert found["NFR-1"].text == "Security — All endpoints require OAuth2 authentication."
    assert found["FR-2"].line == 8 and found["FR-2"].explicit_id
    assert "pan_number" in found["FR-1"].terms and "202 Accepted" in found["FR-2"].terms


def test_shall_statements_without_ids_get_stable_generated_ids() -> None:
    found = parse_requirements(SHALL_LIST)
    texts = [r.text for r in found]
    assert texts[0].startswith("The service shall accept carrier webhooks")
    assert any(t.startswith("The service must not create a second active assignment") for t in texts)
    assert any("250 ms" in t for t in texts)  # the one requirement row of the table
    assert any(t.startswith("The service shall encrypt the recipient's phone number") for t in texts)  # in prose
    assert any("ready to add returns" in t for t in texts)  # a must inside out-of-scope still binds
    assert not any("Billing" in t or "spreadsheets" in t or "failed deliveries" in t for t in texts)  # context
    assert not any("Peak parcels" in t for t in texts)  # a figure, not a requirement
    assert [r.id for r in found] == [f"R{i}" for i in range(1, len(found) + 1)]
    assert parse_requirements(SHALL_LIST) == found  # the same document gives the same ids


def test_explicit_ids_in_many_shapes() -> None:
    found = {r.id: r.text for r in parse_requirements(MIXED_IDS)}
    assert found == {
        "REQ-01": "Claim intake must answer 202 Accepted.",
        "REQ-02": "Intake must accept an `Idempotency-Key` header.",
        "SEC_3": "every call is authenticated with OIDC tokens.",
        "3.2.1": "The payout worker shall retry with backoff.",
        "US-4.1": "As an adjuster I can see my open claims.",
    }


def test_negative_and_mandatory_requirements_are_told_apart() -> None:
    found = {r.text[:20]: r for r in parse_requirements(SHALL_LIST)}
    second = next(r for k, r in found.items() if k.startswith("The service must not"))
    assert second.negative and second.mandatory
    should = next(r for r in found.values() if r.text.startswith("Notifications should"))
    assert not should.mandatory and not should.negative


def test_key_terms_are_identifiers_endpoints_codes_and_names() -> None:
    terms = key_terms("`POST /v1/orders` answers 202 Accepted; events go to Kafka with event_id, not to Redis.")
    assert {"POST /v1/orders", "202 Accepted", "Kafka", "event_id", "Redis"} <= set(terms)
    assert "The" not in key_terms("The service shall log.")


SRS_WITH_BOILERPLATE = """# Software Requirements Specification: Payroll

[1 Introduction 3](#_Toc1)
[1.1 Purpose 3](#_Toc2)
[5.1 Glossary 8](#_Toc3)

## Revision history

| Version | Date | Author | Change |
|---|---|---|---|
| 1.0 | 2024-03-01 | J. Doe | First issue |
| 1.1 | 2024-04-11 | K. Lee | Added FR03 |

## 1.3 Conventions

The key words "MUST", "SHALL", "SHOULD" and "MAY" in this document are to be interpreted as described in RFC 2119.

## 2 Overall description

The product replaces the spreadsheets each employer keeps today.

## 3 Specific requirements

### 3.1 Functional requirements

- **FR01**: The system shall compute gross-to-net pay for every employee in a run.
- FR02 - Payroll runs must be approved by a second manager.
- SRS5.12.2.1 The system shall keep payslips for seven years.
- SDP3.2-2: Payment files shall be signed.
- UC12: Employee downloads a payslip.
- REQ001 The system shall lock a run once approved.

(Note: amounts are in the employer's currency.)

A dedicated audit table is not required for read access.

| ID | Requirement |
|---|---|
| NFR01 | p95 latency of the payslip API is under 300 ms. |
| SEC01 | IBANs shall be encrypted at field level. |

### 3.2 Out of scope

| Item | Note |
|---|---|
| Authentication (e.g. OAuth2, JWT) | provided by the platform gateway |

## References

| Ref | Document |
|---|---|
| [1] | IEEE 830-1998 Recommended Practice for Software Requirements Specifications |
"""


def test_boilerplate_is_not_a_requirement_and_glued_ids_are_ids() -> None:
    """A Word table of contents, the RFC 2119 paragraph, revision and reference rows, a note, an
    out-of-scope row naming a technology and a waiver are not demands; FR01-style ids are ids."""
    found = {r.id: r.text for r in parse_requirements(SRS_WITH_BOILERPLATE)}
    assert list(found) == ["FR01", "FR02", "SRS5.12.2.1", "SDP3.2-2", "UC12", "REQ001", "NFR01", "SEC01"]
    assert found["SDP3.2-2"] == "Payment files shall be signed."
    text = " ".join(found.values())
    for boilerplate in ("Glossary", "interpreted", "J. Doe", "currency", "audit table", "OAuth2", "IEEE 830"):
        assert boilerplate not in text


def test_names_of_standards_are_not_glued_ids() -> None:
    found = parse_requirements("# Requirements\n\n- HTTP2 support shall be provided by the gateway.\n"
                               "- SHA256 digests shall identify every file.\n")  # fmt: skip
    assert [r.id for r in found] == ["R1", "R2"]
    assert found[0].text.startswith("HTTP2 support")


STORIES = """# Meter readings — user stories

## Background

Readings arrive from head-end systems.

## Epic: readings

### US-04 — Submit a manual reading

As a customer, I want to submit a meter reading from the app so that my bill is accurate.

#### Acceptance criteria

- AC-1: Given a registered meter, when I submit a reading lower than the previous one, then it is rejected.
- AC-2: Given a reading submitted twice with the same idempotency key, when the second arrives, then no second
  reading is stored.

### US-05 — Bill history

As a customer I can see my bills of the last 24 months.

- Given I am logged in
- When I open the bill history
- Then I see at most 24 bills, newest first

### US-07 — Tariff change

As a customer I can switch tariff once a month.

## Operations

- US-06: As an operator, I want to replay rejected readings.
  - AC1: Given a rejected reading, when I replay it, then it is processed once.
"""


def test_user_stories_are_traced_through_their_acceptance_criteria() -> None:
    found = {r.id: r for r in parse_requirements(STORIES)}
    assert list(found) == ["US-04/AC-1", "US-04/AC-2", "US-05/AC1", "US-07", "US-06/AC1"]
    assert found["US-04/AC-2"].text.endswith("then no second reading is stored.")  # across a line break
    assert found["US-04/AC-2"].kind == "criterion" and "US-04" in found["US-04/AC-2"].section
    assert (
        found["US-05/AC1"].text
        == "Given I am logged in When I open the bill history Then I see at most 24 bills, newest first"
    )
    assert found["US-07"].kind == "story" and found["US-07"].text.startswith("As a customer I can switch")
    assert all(r.mandatory for r in found.values())
    assert "US-06" in found["US-06/AC1"].section


KEP_REQUIREMENTS = """# KEP-1234: Pod readiness gates

## Summary

This KEP proposes a new field.

## Motivation

Today readiness is binary.

### Goals

- Allow external controllers to gate readiness.
- Keep the change backward compatible with existing clients.

### Non-Goals

- Changing liveness probes.

### User Stories

#### Story 1

As a cluster operator, I want a load balancer to mark pods ready only after they are registered.
"""


def test_goals_and_stories_are_the_requirements_of_a_document_without_formal_ones() -> None:
    found = parse_requirements(KEP_REQUIREMENTS)
    assert [(r.kind, r.text[:30]) for r in found] == [
        ("goal", "Allow external controllers to "),
        ("goal", "Keep the change backward compa"),
        ("story", "As a cluster operator, I want "),
    ]
    # beside formal requirements, goals are background (test_shall_statements_… above)


def test_a_prefixed_glued_id_is_an_id_and_a_standards_name_is_not() -> None:
    """'PAY-FR01' (a system prefix before an FR01-style id) was read as no id, so the requirement got a
    made-up 'R1' and findings cited that; 'UTF-8 text …' opened a requirement with the id 'UTF-8'."""
    text = (
        "# Requirements\n\n| ID | Requirement |\n|---|---|\n| PAY-FR01 | All amounts shall be exact decimals. |\n"
        "| SYS_REQ12 | The system shall log every change. |\n\n- UTF-8 text shall be accepted in every field.\n"
        "- SHA-256 digests shall identify uploaded files.\n"
    )
    found = [r.id for r in parse_requirements(text)]
    assert found[:2] == ["PAY-FR01", "SYS_REQ12"]
    assert "UTF-8" not in found and "SHA-256" not in found and len(found) == 4
