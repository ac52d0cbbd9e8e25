"""The analyses beside the model: passages, traceability, checks (with negation) and detectors."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from evaluator.backends.fake import FakeBackend
from evaluator.batch import BatchOptions, run_batch
from evaluator.batch.cases import discover
from evaluator.documents.passages import passages
from evaluator.errors import ProfileError
from evaluator.grounding import Grounding, run_analyses
from evaluator.grounding.checks import CheckAnalysis, evaluate
from evaluator.grounding.coverage import CoverageAnalysis
from evaluator.grounding.detectors import pii_value, protected_fields
from evaluator.grounding.profiles import Check, load_profile
from evaluator.store import query
from tests.support.data import DATASETS, doc

DESIGN = """---
title: Orders
status: draft
---

# Orders service

## 1 Consumers

The `payments-consumer` polls `orders.v1` and commits offsets after processing. Failures are
retried with backoff and then go to the `orders.dlq` dead-letter topic.

```python
consumer = Consumer({"enable.auto.commit": False})
```

| Endpoint | Answer |
|---|---|
| `POST /v1/orders` | 202 Accepted |
"""


def _check(profile_check: str) -> Check:
    return next(c for c in load_profile().checks if c.id == profile_check)


def _grounding(requirements: str, design: str) -> Grounding:
    return Grounding.of(doc(requirements, "requirements.md"), doc(design, "tech-design.md"))


def test_passages_are_verbatim_with_their_lines_and_section() -> None:
    found = passages(DESIGN)
    lines = DESIGN.split("\n")
    assert found[0].kind == "code" and found[0].text.startswith("---\ntitle: Orders")  # front matter
    for p in found:
        first = p.text.split("\n")[0].strip("| ").split(" | ")[0]
        assert first[:20] in lines[p.line_start - 1], p
        assert p.line_end >= p.line_start
    sentence = next(p for p in found if p.text.startswith("Failures are"))
    assert (sentence.line_start, sentence.line_end) == (10, 11)  # a sentence across a hard line break
    assert sentence.section == "Orders service › 1 Consumers" and sentence.heading == "1 Consumers"
    assert any(p.kind == "row" and "202 Accepted" in p.text for p in found)
    assert any(p.kind == "code" and "enable.auto.commit" in p.text for p in found)
    assert [p.id for p in found] == [f"P{i}" for i in range(1, len(found) + 1)]


def test_a_hash_line_in_code_is_not_a_heading() -> None:
    found = passages("# Title\n\n```bash\n# not a heading\nmake\n```\n\nText.\n")
    assert [p.kind for p in found] == ["heading", "code", "sentence"]
    assert found[2].section == "Title"


REQUIREMENTS = """# Requirements

- The service shall send failed events to a dead-letter topic for inspection.
- The service shall expose Prometheus metrics for every endpoint.
- Invoices shall be archived for ten years.
"""


def test_traceability_tells_covered_contradicted_and_missing() -> None:
    design = (
        "# D\n\n## Events\n\nWe decided not to use a dead-letter topic; failed events are dropped.\n\n"
        "## Operations\n\nEvery endpoint exports Prometheus metrics (latency, errors).\n"
    )
    g = run_analyses(_grounding(REQUIREMENTS, design), [CoverageAnalysis()])
    status = {c.requirement.id: c.status for c in g.coverage}
    assert status == {"R1": "contradicted", "R2": "covered", "R3": "not_addressed"}
    evidence = {c.requirement.id: c.evidence for c in g.coverage}
    assert "decided not to use a dead-letter topic" in evidence["R1"][0].text
    severities = {f.requirement_id: f.severity for f in g.findings}
    assert severities == {"R1": "critical", "R3": "recommendation"}
    contradicted, missing = (next(f for f in g.findings if f.requirement_id == r) for r in ("R1", "R3"))
    assert contradicted.evidence_kind == "shows" and contradicted.line_start == 5
    assert contradicted.matched == "decided not to use a dead-letter"  # the decision and the word it negates
    assert missing.evidence_kind == "absent" and missing.line_start is None and missing.evidence == ""
    assert missing.requirement_line == 5 and missing.searched_for


DLQ_REQUIREMENTS = "# R\n\n- Failed messages must be retried and must not be lost.\n"
CONSUMER = "# D\n\n## Consumer\n\nThe billing consumer polls `invoices.v1`. {}\n"


@pytest.mark.parametrize(
    ("sentence", "status"),
    [
        ("Failures are retried with backoff, then moved to a dead-letter topic.", "passed"),
        ("We decided not to use a dead-letter topic; a failure is logged and skipped.", "failed"),
        ("There is no DLQ: failed messages are dropped.", "failed"),
        ("A failing message is retried every 5 seconds until it succeeds.", "failed"),
        ("We chose not to retry: a failure is logged and the loop moves on.", "failed"),
        ("We rejected retrying forever; failures go to the DLQ after five attempts.", "passed"),
        ("Messages are processed in order.", "absent"),
    ],
)
def test_negation_and_decisions_against_contradict(sentence: str, status: str) -> None:
    g = _grounding(DLQ_REQUIREMENTS, CONSUMER.format(sentence))
    assert evaluate(_check("consumer-dead-letter"), g).status == status


@pytest.mark.parametrize(
    ("design", "status"),
    [
        ("Every call validates OAuth2 JWT access tokens.", "passed"),
        ("No authentication is needed: the service trusts the X-User-Id header.", "failed"),
        ("Internal endpoints do not validate bearer tokens; callers identify themselves with headers.", "failed"),
        ("We are not adding authentication in this release.", "failed"),
        ("Calls validate JWTs; the /healthz probe does not require a token.", "passed"),
    ],
)
def test_authentication_decided_against_or_trusted_headers(design: str, status: str) -> None:
    g = _grounding("# R\n\n- All endpoints require authentication with OAuth2.\n", f"# D\n\n## Security\n\n{design}\n")
    assert evaluate(_check("authentication"), g).status == status


def test_a_check_applies_only_when_the_requirements_ask_for_it() -> None:
    g = _grounding("# R\n\n- Orders shall be stored.\n", "# D\n\nNo authentication anywhere.\n")
    assert evaluate(_check("authentication"), g).status == "not_applicable"


def test_uniqueness_must_be_enforced_where_the_requirement_is() -> None:
    requirements = "# R\n\n- At most one active courier assignment per parcel shall exist.\n"
    checked_in_code = (
        "# D\n\n## Assignment\n\nThe service reads active assignments for the parcel and then inserts a new "
        "courier assignment if none exists.\n\n```sql\nCREATE TABLE assignment (id bigint PRIMARY KEY, parcel_id "
        "bigint);\n```\n\n## Events\n\n`event_dedupe` has a unique key on (carrier, event_id).\n"
    )
    result = evaluate(_check("uniqueness-enforced-by-database"), _grounding(requirements, checked_in_code))
    assert result.status == "failed"  # a primary key on id and an unrelated unique key do not enforce it
    indexed = checked_in_code.replace("if none exists.", "if none exists; a partial unique index backs it.")
    assert evaluate(_check("uniqueness-enforced-by-database"), _grounding(requirements, indexed)).status == "passed"


def test_events_published_after_commit_break_the_outbox_check() -> None:
    requirements = "# R\n\n- Stored state and published events must not diverge.\n"
    after = "# D\n\n## Events\n\nAfter the transaction commits, the service publishes the event to Kafka.\n"
    outbox = "# D\n\n## Events\n\nEvents are written to an outbox table in the same transaction; a relay publishes.\n"
    assert evaluate(_check("transactional-outbox"), _grounding(requirements, after)).status == "failed"
    assert evaluate(_check("transactional-outbox"), _grounding(requirements, outbox)).status == "passed"


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("log.info('sent to jane.doe@gmail.com')", "e-mail address"),
        ("charged card 4111 1111 1111 1111", "card number"),
        ("card 4111 1111 1111 1112", None),  # fails the Luhn check
        ("IBAN DE89 3704 0044 0532 0130 00 rejected", "IBAN"),
        ("ssn 123-45-6789", "national id"),
        ("PAN ABCDE1234F", "national id"),
        ("call +44 20 7946 0958", "phone number"),
        ("order 12345 shipped", None),
        ("user@example.com", None),  # documentation addresses are placeholders
    ],
)
def test_personal_data_values_are_recognised_by_shape(text: str, kind: str | None) -> None:
    assert pii_value(text) == kind


def test_pii_in_a_log_example_and_a_plain_text_column_are_detected() -> None:
    requirements = "# R\n\n- PII must never appear in logs.\n- The phone number shall be encrypted at field level.\n"
    design = (
        "# D\n\n## Logging\n\n```\nINFO delivered parcel=P-1 phone=+44 20 7946 0958\n```\n\n"
        "## Data\n\n```sql\nCREATE TABLE recipient (\n  id uuid PRIMARY KEY,\n  phone text NOT NULL\n);\n```\n"
    )
    g = run_analyses(_grounding(requirements, design), [CheckAnalysis(load_profile().checks)])
    failed = {r.check.id: r for r in g.checks if r.status == "failed"}
    assert {"pii-in-logs", "pii-encryption-at-rest"} <= set(failed)
    assert failed["pii-encryption-at-rest"].evidence[0].words == "phone text NOT NULL"  # the column's own line
    assert protected_fields("The phone number shall be encrypted at field level.") == {"phone"}


def test_202_required_but_201_returned_fails_the_asynchronous_check() -> None:
    requirements = "# R\n\n- Submissions are processed asynchronously; the endpoint answers 202 Accepted.\n"
    design = "# D\n\n## API\n\n`POST /v1/claims` stores the claim and returns 201 Created with the score.\n"
    result = evaluate(_check("synchronous-call-in-request"), _grounding(requirements, design))
    assert result.status == "failed" and result.decided_by == "detector"


def test_a_profile_check_with_a_bad_pattern_or_detector_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    base = (tmp_path / "p.toml", 'name = "p"\ntitle = "t"\nrole = "r"\n[[sections]]\nkey = "a"\ntitle = "A"\n'
            'asks = "x"\n[[checklist]]\nkey = "c"\ntext = "C"\n[[checks]]\nid = "x"\ntitle = "X"\nquestion = "Q?"\n'
            'severity = "critical"\n')  # fmt: skip
    path, text = base
    path.write_text(text + "contradicts = ['(unclosed']\n")
    with pytest.raises(ProfileError, match=r"checks.0.contradicts.*bad regular expression"):
        load_profile(str(path))
    path.write_text(text + 'detector = "nope"\n')
    with pytest.raises(ProfileError, match=r"unknown detector 'nope'"):
        load_profile(str(path))


def test_both_shipped_profiles_have_checks_for_their_focus_areas() -> None:
    for name in ("python-fastapi", "node-express"):
        profile = load_profile(name)
        assert len(profile.checks) >= 15
        for check in profile.checks:
            assert profile.check_section(check) in {s.key for s in profile.sections}
            assert check.checklist == [] or profile.check_checklist(check) is not None, (name, check.id)


def test_a_grounded_finding_survives_render_and_parse() -> None:
    from evaluator.ingest.parse import parse_review
    from evaluator.review.record import Finding, Review
    from evaluator.review.render import render_markdown

    finding = Finding(
        severity="critical",
        title="Failed messages can be lost",
        detail="Retry, then a dead-letter topic.",
        section="3.4 Notification delivery",
        evidence="We chose not to retry: a failure is logged.",
        evidence_found=True,
        source="check",
        requirement_id="NFR-4",
        check_id="consumer-dead-letter",
        line_start=98,
        line_end=99,
    )
    markdown = render_markdown(Review(title="T", profile="python-fastapi", findings=[finding]))
    assert '- Evidence: "We chose not to retry: a failure is logged." (design, lines 98–99)' in markdown
    back = parse_review(markdown, load_profile()).review.findings[0]
    assert (back.requirement_id, back.check_id, back.line_start, back.line_end, back.evidence_found) == (
        "NFR-4",
        "consumer-dead-letter",
        98,
        99,
        True,
    )
    assert back.evidence == finding.evidence and back.section == finding.section


def test_cli_coverage_shows_the_traceability_of_a_batch_case(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    from typer.testing import CliRunner

    from evaluator.backends.fake import FakeBackend
    from evaluator.batch import BatchOptions, run_batch
    from evaluator.batch.cases import discover
    from evaluator.cli.main import app

    folder = tmp_path / "cases"
    (folder / "orders").mkdir(parents=True)
    (folder / "requirements.md").write_text(REQUIREMENTS)
    (folder / "orders" / "tech-design.md").write_text(
        "# D\n\n## Events\n\nWe decided not to use a dead-letter topic; failed events are dropped.\n"
    )
    db = tmp_path / "e.duckdb"
    run_batch(discover(folder), BatchOptions(db=db), backend=FakeBackend.answering())
    result = CliRunner().invoke(app, ["coverage", "orders/*", "--db", str(db), "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["case_key"] == "orders/tech-design.md"
    first = data["requirements"][0]
    assert (first["requirement_id"], first["status"], first["line"]) == ("R1", "contradicted", 5)
    missing = CliRunner().invoke(app, ["coverage", "nope/*", "--db", str(db)])
    assert missing.exit_code == 2 and "no reviewed case matches 'nope/*'" in missing.stderr


def test_passages_split_on_many_threads_at_once_are_those_split_one_at_a_time() -> None:
    """The batch reviews cases on several threads; the sentence splitter must not mix their documents."""
    texts = [path.read_text() for path in sorted(DATASETS.glob("*/*/tech-design.md"))]
    one_at_a_time = [passages(text) for text in texts]
    with ThreadPoolExecutor(8) as pool:
        together = list(pool.map(passages, texts))
    assert len(texts) >= 20 and together == one_at_a_time


def test_a_fake_batch_on_four_threads_stores_the_reviews_one_thread_stores(tmp_path: Path) -> None:
    """Everything beside the model is deterministic per case, however many cases run at once."""
    cases = discover(DATASETS / "parcel-delivery")

    def reviews(parallel: int) -> dict[str, Any]:
        db = tmp_path / f"p{parallel}.duckdb"
        run_batch(cases, BatchOptions(db=db, parallel=parallel), backend=FakeBackend.answering())
        rows = query(db, "SELECT case_key, review_json FROM reviews WHERE status = 'ok'")[1]
        stored = {key: json.loads(text) for key, text in rows}
        for review in stored.values():
            del review["usage"]  # timings
        return stored

    one = reviews(1)
    assert len(one) == len(cases) and reviews(4) == one
