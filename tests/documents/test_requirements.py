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
