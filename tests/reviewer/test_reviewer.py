from __future__ import annotations

import json
import re
from typing import Any

import pytest

from evaluator.backends.fake import FakeBackend, schema_output
from evaluator.backends.fake import schema_instance as instance_for
from evaluator.documents.read import Document
from evaluator.errors import GenerationError
from evaluator.grounding.profiles import Profile
from evaluator.review.rubric import contradictions, verdict
from evaluator.reviewer.engine import Reviewer, ReviewSettings
from evaluator.reviewer.prompts import Prompts
from evaluator.text import quote_found
from tests.support.data import doc

REQUIREMENTS = """# Orders — requirements

## Requirements

- The service shall accept an order and answer 202 Accepted; payment capture happens asynchronously.
- Failed payment events must be retried with backoff and must not be lost.
- The service shall authenticate every caller with OAuth2 JWT access tokens and authorise by role.
- Order totals shall be reported daily to finance.
"""

DESIGN = """# Orders service design

## API

`POST /v1/orders` stores the order and returns `201 Created` with the order id.

## Payments

The `payments-consumer` reads the `orders.created.v1` Kafka topic. We chose not to retry: a failure is logged
and the loop moves on.

## Security

Every endpoint validates OAuth2 JWT access tokens in a FastAPI dependency; roles come from scopes.
"""


def _reviewer(backend: FakeBackend, profile: Profile, prompts: Prompts, **settings: Any) -> Reviewer:
    """A reviewer whose model writes the full prose pass (a fake is as small as the embedded model,
    which otherwise writes only a summary; see test_a_small_model_writes_only_a_summary)."""
    return Reviewer(backend, profile, prompts, ReviewSettings(**{"prose": True, **settings}))


def _prose(**fields: Any) -> Any:
    def respond(messages: list[dict[str, str]], schema: dict[str, Any]) -> str:
        data = instance_for(schema)
        if "answer" in schema["properties"]:
            data["answer"] = "unclear"
        data.update(fields)
        return json.dumps(data)

    return respond


def _lines_of(design: Document, start: int, end: int) -> str:
    return " ".join(" ".join(design.text.split("\n")[start - 1 : end]).split())


def test_findings_come_from_the_analyses_with_evidence_at_real_lines(profile: Profile, prompts: Prompts) -> None:
    design = doc(DESIGN, "tech-design.md")
    backend = FakeBackend([_prose()] * 40)
    review = _reviewer(backend, profile, prompts).review(doc(REQUIREMENTS, "requirements.md"), design)
    by_check = {f.check_id: f for f in review.findings if f.check_id}
    assert by_check["consumer-dead-letter"].severity == "critical"
    assert by_check["synchronous-call-in-request"].severity == "critical"  # 201 where 202 is required
    assert "authentication" not in by_check  # addressed by the Security section
    for f in review.findings:
        assert f.source in ("coverage", "check", "model", "injection")
        if f.evidence_kind == "shows":  # a quote of the design at its lines, with the matched words in it
            assert f.line_start is not None and f.evidence_found is True
            assert quote_found(f.evidence, _lines_of(design, f.line_start, f.line_end or f.line_start))
        else:  # something absent: nothing quoted, the requirement that asks for it named
            assert f.evidence_kind == "absent" and not f.evidence and f.requirement_text
    assert [f.severity for f in review.findings] == sorted(
        (f.severity for f in review.findings), key=["critical", "recommendation", "suggestion"].index
    )
    assert review.processing is not None and review.processing.mode == "grounded"


def test_scores_and_verdicts_follow_the_rubric_not_the_model(profile: Profile, prompts: Prompts) -> None:
    backend = FakeBackend([_prose(completeness_score=10, technical_soundness_score=10)] * 40)
    review = _reviewer(backend, profile, prompts).review(doc(REQUIREMENTS), doc(DESIGN, "tech-design.md"))
    assert review.model_completeness_score == 10 and review.model_technical_soundness_score == 10
    critical = sum(f.severity == "critical" for f in review.findings)
    assert critical >= 2 and review.technical_soundness_score is not None and review.technical_soundness_score <= 6
    assert review.implementation_readiness == "Major Changes Required"
    v = verdict(review.findings, 1.0)
    assert not contradictions(v, review.findings)
    checklist = {c.key: c.checked for c in review.checklist}
    assert checklist["risk_mitigation"] is False  # the dead-letter check failed and maps to it


def test_requirements_are_traced_and_gaps_are_findings(profile: Profile, prompts: Prompts) -> None:
    backend = FakeBackend([_prose()] * 40)
    review = _reviewer(backend, profile, prompts).review(doc(REQUIREMENTS), doc(DESIGN, "tech-design.md"))
    status = {c.requirement_id: c.status for c in review.coverage}
    assert status["R3"] == "covered"  # OAuth2 JWT, roles
    assert status["R4"] == "not_addressed"  # daily finance report: nothing in the design
    gap = next(f for f in review.findings if f.requirement_id == "R4")
    assert gap.source == "coverage" and gap.severity == "recommendation"
    assert any("R4" in m for m in review.missing_elements)


def test_generic_model_prose_is_replaced_and_grounded_prose_kept(profile: Profile, prompts: Prompts) -> None:
    prose = _prose(
        strengths=[
            "Alabama and Bangladesh",
            "The Security section validates OAuth2 JWT access tokens",
            "SEC-9 is met by the Security section of the design",  # an id the requirements do not have
        ],
        section_reviews={s.key: "Looks fine overall." for s in profile.sections},
        alternative_approaches=["Consider microservices."],
        next_steps=["Write better documentation."],
    )
    review = _reviewer(FakeBackend([prose] * 40), profile, prompts).review(
        doc(REQUIREMENTS), doc(DESIGN, "tech-design.md")
    )
    assert "Alabama and Bangladesh" not in review.strengths
    assert not any("SEC-9" in s for s in review.strengths)
    assert "The Security section validates OAuth2 JWT access tokens." in review.strengths  # kept, as a sentence
    assert all("Looks fine overall." not in s.feedback for s in review.sections)
    assert "Consider microservices." not in review.alternative_approaches
    assert "Write better documentation." not in review.next_steps
    assert all(s.feedback for s in review.sections)


def test_a_check_the_rules_cannot_decide_is_asked_narrowly(profile: Profile, prompts: Prompts) -> None:
    asked: list[str] = []

    def respond(messages: list[dict[str, str]], schema: dict[str, Any]) -> str:
        if "answer" in schema["properties"]:
            asked.append(messages[1]["content"])
            items = schema["properties"]["passages"]["items"]
            ids = items.get("enum") or [items["const"]]
            return json.dumps({"passages": ids[:1], "answer": "no"})
        return json.dumps(instance_for(schema))

    design = doc(DESIGN.replace("We chose not to retry: a failure is logged\nand the loop moves on.", ""), "d.md")
    review = _reviewer(FakeBackend([respond] * 40), profile, prompts, questions=True).review(doc(REQUIREMENTS), design)
    assert asked and all("Question:" in a and "<design-part>" in a for a in asked)
    dead_letter = next(f for f in review.findings if f.check_id == "consumer-dead-letter")
    assert dead_letter.source == "model" and dead_letter.line_start is not None


def test_a_small_model_is_not_asked_questions_nor_for_findings(profile: Profile, prompts: Prompts) -> None:
    backend = FakeBackend([_prose()] * 5)  # reports 135M parameters, like the embedded model
    _reviewer(backend, profile, prompts).review(doc(REQUIREMENTS), doc(DESIGN.replace("We chose not", "We"), "d.md"))
    assert len(backend.calls) == 1 and "findings" not in backend.calls[0].schema["properties"]
    large = FakeBackend([_prose()] * 40, n_params=7_000_000_000)
    _reviewer(large, profile, prompts).review(doc(REQUIREMENTS), doc(DESIGN.replace("We chose not", "We"), "d.md"))
    assert len(large.calls) > 1 and "findings" in large.calls[-1].schema["properties"]


def test_a_large_model_adds_its_own_findings_deduplicated(profile: Profile, prompts: Prompts) -> None:
    extra = [
        {"severity": "recommendation", "title": "Order ids leak", "detail": "d", "section": "API", "evidence": "x y"},
        {
            "severity": "critical",
            "title": "Failed messages can be lost",
            "detail": "dup",
            "section": "x",
            "evidence": "",
        },
        {
            "severity": "suggestion",
            "title": "Name topics",
            "detail": "d",
            "section": "x",
            "evidence": "orders.created.v1",
        },
    ]
    backend = FakeBackend([_prose(findings=extra)] * 40)
    review = _reviewer(backend, profile, prompts, model_findings=True).review(doc(REQUIREMENTS), doc(DESIGN, "d.md"))
    model = {f.title: f for f in review.findings if f.source == "model"}
    assert set(model) == {"Order ids leak", "Name topics"}  # the duplicate of a check finding is dropped
    assert model["Order ids leak"].evidence_found is False and model["Name topics"].evidence_found is True


def test_inschema_output_is_retried_once_with_other_sampling(profile: Profile, prompts: Prompts) -> None:
    backend = FakeBackend(['{"strengths": [', schema_output])
    review = _reviewer(backend, profile, prompts, questions=False).review(doc(REQUIREMENTS), doc(DESIGN, "d.md"))
    assert review.processing is not None and review.processing.retries == 1
    first, second = (c.sampling for c in backend.calls)
    assert first.temperature == 0 and second.temperature > 0 and second.seed != first.seed


def test_output_cut_off_at_max_tokens_is_a_failed_generation(profile: Profile, prompts: Prompts) -> None:
    huge = json.dumps(instance_for({"type": "string"}, "x" * 50_000))
    backend = FakeBackend([huge, huge])
    with pytest.raises(GenerationError, match="after 2 attempts: the output was cut off at 2048 tokens") as info:
        _reviewer(backend, profile, prompts, questions=False).review(doc(REQUIREMENTS), doc(DESIGN, "d.md"))
    assert info.value.raw.startswith('"xxx')


def test_schema_violation_is_reported_with_its_location(profile: Profile, prompts: Prompts) -> None:
    backend = FakeBackend(['{"strengths": []}'] * 2)
    with pytest.raises(GenerationError, match="at 'strengths'"):
        _reviewer(backend, profile, prompts, questions=False).review(doc(REQUIREMENTS), doc(DESIGN, "d.md"))


def test_duplicated_items_from_a_looping_model_are_dropped_and_noted(profile: Profile, prompts: Prompts) -> None:
    looping = _prose(
        strengths=["The Security section is clear and specific", "the security  section is clear and specific", "JWT"]
    )
    review = _reviewer(FakeBackend([looping]), profile, prompts, questions=False).review(
        doc(REQUIREMENTS), doc(DESIGN, "d.md")
    )
    assert review.processing is not None and review.processing.repairs == ["1 duplicate strengths"]
    assert review.strengths.count("The Security section is clear and specific.") == 1


def test_a_design_of_any_length_fits_the_context(profile: Profile, prompts: Prompts) -> None:
    body = "".join(f"## Part {i}\n\nThe consumer retries with backoff. " * 30 + "\n\n" for i in range(40))
    backend = FakeBackend([_prose()] * 80, n_ctx=4096)
    review = _reviewer(backend, profile, prompts, max_tokens=1500).review(doc(REQUIREMENTS), doc("# Big\n\n" + body))
    for call in backend.calls:
        assert backend.count_tokens(call.messages) + call.max_tokens <= backend.n_ctx
    assert review.processing is not None and review.processing.mode == "grounded"


def test_a_review_past_its_timeout_fails_without_retry(profile: Profile, prompts: Prompts) -> None:
    backend = FakeBackend([schema_output, schema_output])
    with pytest.raises(GenerationError, match=r"timed out: the review took longer than 0 s"):
        _reviewer(backend, profile, prompts, timeout_s=0, questions=False).review(doc(REQUIREMENTS), doc(DESIGN))
    assert len(backend.calls) == 1 and backend.calls[0].sampling.temperature == 0


def test_every_strength_and_section_entry_points_into_this_design(profile: Profile, prompts: Prompts) -> None:
    generic = _prose(
        strengths=["Great design overall with clear structure"],
        section_reviews={s.key: "This area looks reasonable and well thought out." for s in profile.sections},
    )
    design = doc(DESIGN, "tech-design.md")
    review = _reviewer(FakeBackend([generic] * 5), profile, prompts).review(doc(REQUIREMENTS), design)
    headings = [line.lstrip("# ") for line in DESIGN.splitlines() if line.startswith("#")]
    for text in [*review.strengths, *(s.feedback for s in review.sections)]:
        names = re.search(r"\bR\d+\b|\blines? \d+", text) or any(h in text for h in headings)
        says_nothing_was_found = text.startswith("The review raises nothing about")  # never a "nearest passage"
        assert names or says_nothing_was_found, text


_WORDS = ("booking", "invoice", "ledger", "patient", "doctor", "slot", "refund", "audit", "export", "queue", "retry")


def _spec(count: int) -> Document:
    lines = [
        f"FR-{i}: The service shall {_WORDS[i % 11]} the {_WORDS[i * 7 % 11]} records of type {i} in {i % 50 + 1} s."
        for i in range(1, count + 1)
    ]
    return doc("# Requirements\n\n" + "\n".join(lines) + "\n", "requirements.md")


def test_any_specification_size_fits_the_prose_prompt(profile: Profile, prompts: Prompts) -> None:
    """2,000 requirements, nearly all unmet: the prompt summarises them within a fixed budget instead of
    listing each (it failed with "does not fit a 8192-token context even with 2 passages")."""
    design = doc(
        "# Design\n\n## API\n\nPOST /bookings books a doctor slot for a patient.\n\n## Data Model\n\nA ledger table.\n",
        "tech-design.md",
    )
    tokens = {}
    for count in (200, 2_000):
        backend = FakeBackend.answering(n_ctx=8192)  # counts the prompt's tokens, as a model's tokenizer would
        review = _reviewer(backend, profile, prompts).review(_spec(count), design)
        assert len(review.coverage) == count and review.completeness_score is not None
        tokens[count] = max(backend.count_tokens(call.messages) for call in backend.calls)
    assert tokens[2_000] - tokens[200] < 40, tokens  # the requirement count no longer grows the prompt


def _summary(text: str) -> Any:
    def respond(messages: list[dict[str, str]], schema: dict[str, Any]) -> str:
        assert list(schema["properties"]) == ["summary"]  # the small model is asked for nothing else
        return json.dumps({"summary": text})

    return respond


def test_a_small_model_writes_only_a_summary(profile: Profile, prompts: Prompts) -> None:
    describes = "The Orders service stores orders behind POST /v1/orders and reads the orders.created.v1 Kafka topic."
    backend = FakeBackend([_summary(describes)])  # one call, or the script runs out
    review = Reviewer(backend, profile, prompts).review(doc(REQUIREMENTS), doc(DESIGN, "tech-design.md"))
    assert len(backend.calls) == 1 and backend.calls[0].messages[0]["content"].startswith("You summarise")
    business = next(s for s in review.sections if s.key == "business_requirements")
    assert business.feedback.startswith(describes)
    assert review.processing is not None and review.processing.model_parts == ["summary"]


@pytest.mark.parametrize(
    "summary",
    [
        "The Orders service is robust and well designed, with POST /v1/orders.",  # a judgement
        "The platform offers a modern experience to its customers.",  # names nothing of this design
        "The Orders service stores orders behind POST /v1/orders so patients can chat with doctors via chatbots.",
        "not json at all",
    ],
)
def test_a_small_model_summary_that_judges_invents_or_breaks_is_left_out(
    profile: Profile, prompts: Prompts, summary: str
) -> None:
    script = [summary] * 2 if summary.startswith("not json") else [_summary(summary)]
    review = Reviewer(FakeBackend(script), profile, prompts).review(doc(REQUIREMENTS), doc(DESIGN, "tech-design.md"))
    assert review.processing is not None and review.processing.model_parts == []
    assert not any(summary[:20] in s.feedback for s in review.sections)
    if summary.startswith("not json"):  # the review stands without it, and says so
        assert any(r.startswith("summary not written") for r in review.processing.repairs)
