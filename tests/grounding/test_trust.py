"""The trust rules (issue 25): minimal reproductions of what made real designs cry wolf.

Each test is invented text reproducing a pattern seen on more than one real public design;
each failed before the rules of :mod:`evaluator.grounding.checks` and
:mod:`evaluator.grounding.coverage` were rewritten.
"""

from __future__ import annotations

from evaluator.documents.requirements import parse_requirements
from evaluator.grounding import Grounding, run_analyses
from evaluator.grounding.checks import CheckAnalysis
from evaluator.grounding.coverage import CoverageAnalysis
from evaluator.grounding.profiles import load_profile
from evaluator.grounding.reconcile import reconcile
from evaluator.review.record import Finding
from tests.support.data import doc

PROFILE = load_profile()


def _review(requirements: str, design: str) -> Grounding:
    g = Grounding.of(doc(requirements, "requirements.md"), doc(design, "tech-design.md"))
    analyses = [CoverageAnalysis(), CheckAnalysis(PROFILE.checks, PROFILE.technologies)]
    return reconcile(run_analyses(g, analyses))


def _blocking(g: Grounding) -> list[Finding]:
    return [f for f in g.findings if f.severity in ("critical", "recommendation")]


def _check(g: Grounding, check_id: str) -> str:
    return next(r.status for r in g.checks if r.check.id == check_id)


# --- 1. Boilerplate read as requirements --------------------------------------------------------

WORD_SRS = """# Software Requirements Specification

[5.1 Glossary 8](#_Toc123456)
[5.2 References 9](#_Toc123457)

## 1.3 Conventions

The words "shall", "should" and "may" in this document are to be interpreted as in RFC 2119.

| Version | Date | Author |
|---|---|---|
| 1.2 | 2024-05-02 | A. Writer |

(Note: figures are indicative.)

## References

| [1] | ISO/IEC/IEEE 29148:2018 |
|---|---|
"""


def test_a_table_of_contents_conventions_versions_references_and_notes_are_not_requirements() -> None:
    assert parse_requirements(WORD_SRS) == []


def test_user_stories_are_requirements() -> None:
    found = parse_requirements("# Stories\n\n- As an operator, I want to pause a rollout so that I can inspect it.\n"
                               "- As a user, I can export my data as CSV.\n")  # fmt: skip
    assert [r.kind for r in found] == ["story", "story"]


# --- 2. Evidence that is not evidence ----------------------------------------------------------

REQUIREMENTS = """# Requirements

- FR-1: Orders shall be consumed from Kafka and no order may ever be lost; failed orders must be retried.
"""

DESIGN_WITHOUT_FAILURE_HANDLING = """# Orders

## Example output

Register an account | Log in

**Files to read:** `orders.py`

## Consumers

The `orders-consumer` reads the `orders.v1` Kafka topic and writes each order to PostgreSQL.
"""


def test_a_finding_about_something_absent_quotes_nothing_and_names_its_requirement() -> None:
    g = _review(REQUIREMENTS, DESIGN_WITHOUT_FAILURE_HANDLING)
    dead_letter = next(f for f in g.findings if f.check_id == "consumer-dead-letter")
    assert dead_letter.evidence_kind == "absent" and dead_letter.evidence == ""
    assert dead_letter.line_start is None and dead_letter.passage_ids == []
    assert "dead-letter topic" in dead_letter.searched_for and dead_letter.expected_in == "Consumers"
    assert (dead_letter.requirement_id, dead_letter.requirement_line) == ("FR-1", 3)
    assert dead_letter.requirement_text.startswith("Orders shall be consumed")


# --- 3. The fix read as the defect ------------------------------------------------------------

PRIVACY = """# Requirements

- NFR-1: Personal data (PAN, e-mail) must never appear in logs.
- NFR-2: The PAN must be encrypted at field level in the database.
- NFR-3: Events must not be processed twice; duplicate delivery must not create duplicate effects.
- NFR-4: The metrics endpoint must require authentication.
"""

MITIGATIONS = """# Applications service

## Context

Today the exporter exposes the metrics endpoint without authentication, and the old service
logs the full PAN on every request.

## Proposal

The exporter requires mTLS and RBAC for `/metrics`.

```python
def mask_pan(pan: str) -> str:
    return "******" + pan[-4:]

logger.info("application received", extra={"pan": mask_pan(application.pan)})
```

```sql
CREATE TABLE applicant (
  id uuid PRIMARY KEY,
  pan text NOT NULL
);
CREATE TABLE processed_event (
  consumer_group text NOT NULL,
  event_id uuid NOT NULL,
  PRIMARY KEY (consumer_group, event_id)
);
```

The `pan` column holds ciphertext: the PAN is encrypted with a data key (envelope encryption, the
key wrapped by KMS) before it is written.

The `applications-consumer` reads the `applications.v1` Kafka topic. No row back means a repeat:
the insert into `processed_event` returned nothing, so the handler answers 409 and stops.
"""


def test_mitigations_address_the_checks_they_mitigate() -> None:
    g = _review(PRIVACY, MITIGATIONS)
    assert _check(g, "pii-in-logs") != "failed"  # mask_pan() masks the PAN
    assert _check(g, "pii-encryption-at-rest") != "failed"  # envelope encryption with a data key
    assert _check(g, "consumer-idempotency") == "passed"  # PRIMARY KEY (consumer_group, event_id)
    assert _check(g, "authentication") != "failed"  # the Context paragraph is today's problem
    assert not [f for f in g.findings if f.severity == "critical"], g.findings


def test_context_describes_and_a_sentence_opening_with_no_is_not_a_decision() -> None:
    g = _review(PRIVACY, MITIGATIONS)
    assert {c.requirement.id: c.status for c in g.coverage}["NFR-3"] != "contradicted"
    assert not any(f.source == "coverage" and f.severity == "critical" for f in g.findings)


# --- 4. Checks fired by an incidental word, or by what the requirements rule out ----------------

KEP_REQUIREMENTS = """# Requirements

## Goals

- Let a CronJob be suspended and resumed without losing its schedule.

## Out of scope

| Item | Why |
|---|---|
| Authentication (e.g. OAuth2, JWT) | handled by the API server |

A dedicated audit event table is not required.
"""

KEP_DESIGN = """# KEP-9999: Suspend CronJobs

## Table of Contents

- [Summary](#summary)
- [Design Details](#design-details)

## Proposal

Add a `suspend` flag to the CronJob spec. The controller skips a suspended CronJob.
We will split the work into single-topic PRs. Client packages to consume them are generated.
Only one partition in twelve of the nodes sees the change at a time.

## Design Details

The flag defaults to false; the lag between resuming and the next run is one schedule period.
"""


def test_stack_checks_need_the_stack_and_out_of_scope_rows_demand_nothing() -> None:
    g = _review(KEP_REQUIREMENTS, KEP_DESIGN)
    assert _blocking(g) == [], _blocking(g)
    statuses = {r.check.id: r.status for r in g.checks}
    for check in ("consumer-lag-monitoring", "consumer-offset-commit", "single-partition-bottleneck", "query-indexes"):
        assert statuses[check] == "not_applicable", check  # no Kafka, no database in this design
    assert statuses["authentication"] == "not_applicable" and statuses["audit-trail"] == "not_applicable"


DB_REQUIREMENTS = "# Requirements\n\n- NFR-1: Searches by status must answer within 200 ms at p95.\n"

DB_DESIGN = """# Orders

## Data model

```sql
CREATE TABLE orders (id uuid PRIMARY KEY, status text NOT NULL, created_at timestamptz NOT NULL);
CREATE INDEX ix_orders_status ON orders (status, created_at);
```

## Events

Failed orders go to the `orders.dlq` Kafka topic. Partitions: 1 for the dead-letter topic; `orders.v1` has 12.
"""


def test_declared_indexes_address_the_index_check_and_a_best_practice_is_at_most_a_suggestion() -> None:
    g = _review(DB_REQUIREMENTS, DB_DESIGN)
    assert _check(g, "query-indexes") == "passed"
    assert _check(g, "single-partition-bottleneck") != "failed"  # one partition for the dead-letter topic is fine
    assert all(f.severity != "critical" for f in g.findings)


# --- 6. What the real-design suite's second judging found ---------------------------------------

PDF_SRS = """# Software Requirements Specification

## 13 Release Requirements

| | AUD1. | Audit | logs | shall | be | kept | ten | years. |
|---|---|---|---|---|---|---|---|---|

## 14 Performance

- PR-1: Invoices shall be generated within 3 seconds.
- PR-2: Systém musí zvládnout alespoň 100 souběžných uživatelů.

## 15 Threats

- R-9: Attestations raise the bar: the attacker must be able to steal a signing key.
"""

PDF_SDD = """# Module guide

## Traceability

| Requirement | | Modules | | | | | |
|---|---|---|---|---|---|---|---|
| AUD1 | | M12 | | Tracks | and stores | audit | logs |
| PR-1 | | M3, M9 | | Multi-module | | | |

## Modules

M3 reconciles payments; M12 keeps the platform's records.
"""


def test_a_pdf_row_cut_into_words_reads_as_its_sentence_and_a_traceability_row_is_no_silence() -> None:
    requirements = {r.id: r for r in parse_requirements(PDF_SRS)}
    assert requirements["AUD1"].text == "Audit logs shall be kept ten years."
    g = _review(PDF_SRS, PDF_SDD)
    status = {c.requirement.id: c.status for c in g.coverage}
    assert status["AUD1"] != "not_addressed" and status["PR-1"] != "not_addressed"  # the matrix names both
    assert _check(g, "audit-trail") == "passed"  # "Tracks | and stores | audit | logs" says audit logs


def test_only_what_binds_in_so_many_words_makes_silence_blocking() -> None:
    requirements = {r.id: r for r in parse_requirements(PDF_SRS)}
    assert requirements["PR-2"].explicit  # "musí": Czech for "must"
    assert not requirements["R-9"].explicit  # the attacker's "must" binds nobody
    g = _review(PDF_SRS, PDF_SDD)
    silent = {f.requirement_id: f.severity for f in g.findings if f.title.endswith("is not addressed by the design")}
    assert silent.get("PR-2") == "recommendation"
    assert silent.get("R-9") == "suggestion"


def test_a_check_whose_words_the_requirement_only_brushes_is_no_blocking_silence() -> None:
    g = _review(
        "# Requirements\n\n- NFR-1: The system shall handle up to 10 requests simultaneously.\n",
        "# Design\n\nThe API is built with FastAPI on PostgreSQL; `PATCH /v1/tickets/{id}` updates a ticket.\n",
    )
    assert not [f for f in _blocking(g) if f.check_id == "optimistic-concurrency"], g.findings


# --- 7. What a fourth blind set (cold-chain telemetry) showed on its first run ------------------

COLD_REQUIREMENTS = """# Requirements

- CT-1: The system shall publish `excursion.opened` if and only if the change has committed; no event may
  be lost and none may be published for a rolled-back change.
- CT-2: The system shall keep a chain-of-custody / audit trail; the application's database role shall not
  be able to UPDATE or DELETE audit rows.
- CT-3: The ingest API shall respond `413` for a batch of more than 500 readings and `422` for an invalid one.
- CT-4: The system shall store and compare temperatures with exact decimal precision of 0.01 °C.
- CT-5: Readings are consumed from Kafka; a reading that keeps failing shall be parked, never lost.
- CT-6: Operations shall be alerted on consumer lag per consumer group.
- CT-7: Each shipper is a tenant; no tenant may see another tenant's data.
"""

COLD_SOUND = """# coldtrack

## Detailed design

A FastAPI service on PostgreSQL; the reading-processor consumes the Kafka topic `ct.readings.v1`; after
five attempts a message goes to the parking-lot topic `ct.readings.v1.parking`.

```python
if len(batch.readings) > 500:
    raise HTTPException(413, "batch exceeds 500 readings")  # checked before full validation
```

```sql
CREATE TABLE custody_events (shipment_id uuid, seq int, body jsonb, PRIMARY KEY (shipment_id, seq));
REVOKE ALL ON custody_events FROM ct_app;
GRANT SELECT, INSERT ON custody_events TO ct_app;
```

The application role cannot UPDATE or DELETE custody events; a trigger raises on both.

Events are written to the `outbox` table in the state change's transaction; the relay publishes them.

The ingest API maps a gateway to its tenant (cached in Redis under `ct:gw:{gateway_id}`, value = tenant id).

- **Retention:** readings partitions older than 13 months are exported to Parquet and then dropped.

```yaml
readingProcessor:
  envFromSecret: coldtrack-runtime   # created by ExternalSecret from Vault
  existingSecret: coldtrack-db
```

## Risks

| Risk | Impact | Mitigation |
|---|---|---|
| Reconnect storms | lag, late alerts | KEDA scales the processor out |
"""


def test_a_sound_design_in_other_words_is_not_read_as_the_defects_it_avoids() -> None:
    g = _review(COLD_REQUIREMENTS, COLD_SOUND)
    assert _check(g, "consumer-dead-letter") == "passed"  # partitions dropped after retention are no messages
    assert _check(g, "http-status-codes") != "failed"  # "500 readings" is a count, not a status
    assert _check(g, "audit-append-only") == "passed"  # the chain of custody is the audit trail
    assert _check(g, "committed-secrets") != "failed"  # envFromSecret / existingSecret name where a secret is
    assert _check(g, "tenant-isolation") != "failed"  # the key that finds the tenant cannot hold it
    assert not [f for f in g.findings if f.severity == "critical" and f.evidence_kind != "absent"], g.findings


def test_a_risks_impact_cell_is_no_mitigation() -> None:
    g = _review(COLD_REQUIREMENTS, COLD_SOUND)
    # "lag, late alerts" is what the risk does, not how lag is watched: the design is silent on it
    assert _check(g, "consumer-lag-monitoring") == "absent"
    watched = COLD_SOUND.replace("KEDA scales the processor out", "alert on consumer lag > 60 s")
    assert _check(_review(COLD_REQUIREMENTS, watched), "consumer-lag-monitoring") == "passed"


def test_publishing_after_the_commit_and_floats_for_exact_values_are_found_in_other_words() -> None:
    design = (
        "# coldtrack\n\n## Decision\n\nA FastAPI service on PostgreSQL publishes to Kafka. "
        "Events are produced right after its database transaction commits, "
        "with the idempotent producer.\n\n```sql\nCREATE TABLE readings (\n  id bigint PRIMARY KEY,\n"
        "  temp_c double precision NOT NULL,\n  humidity_pct double precision\n);\n```\n"
    )
    g = _review(COLD_REQUIREMENTS, design)
    assert _check(g, "transactional-outbox") == "failed"  # "rolled-back", "no event may be lost" demand it
    assert _check(g, "money-exact-type") == "failed"
    [hit] = [f for f in g.findings if f.check_id == "money-exact-type"]
    assert hit.matched.startswith("temp_c")  # the column CT-4 says must be exact; humidity it does not name
