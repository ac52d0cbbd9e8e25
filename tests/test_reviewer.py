from __future__ import annotations

import json
from typing import Any

import pytest

from evaluator.backends.fake import FakeBackend, schema_instance, schema_output
from evaluator.documents import Document
from evaluator.errors import ContextError, GenerationError
from evaluator.profiles import Profile
from evaluator.prompts import Prompts
from evaluator.reviewer import Reviewer, ReviewSettings
from tests.conftest import doc


def _reviewer(backend: FakeBackend, profile: Profile, prompts: Prompts, **settings: Any) -> Reviewer:
    return Reviewer(backend, profile, prompts, ReviewSettings(**settings))


def test_single_pass_review_is_assembled_from_the_draft(
    profile: Profile, prompts: Prompts, requirements: Document, design: Document
) -> None:
    def respond(messages: list[dict[str, str]], schema: dict[str, Any]) -> str:
        data = schema_instance(schema)
        data["findings"] = [
            {"severity": "suggestion", "title": "Name topics", "detail": "d", "section": "API Design", "evidence": ""},
            {
                "severity": "critical",
                "title": "Encrypt pan_number",
                "detail": "Stored in clear.",
                "section": "Data Model",
                "evidence": "pan_number column is stored in PLAIN text",
            },
            {"severity": "critical", "title": "Invented", "detail": "x", "section": "x", "evidence": "not in design"},
        ]
        data["completeness_score"], data["checklist"]["data_model"] = 4, False
        return json.dumps(data)

    backend = FakeBackend([respond])
    review = _reviewer(backend, profile, prompts).review(requirements, design)
    assert [f.title for f in review.findings] == ["Encrypt pan_number", "Invented", "Name topics"]  # critical first
    assert [f.evidence_found for f in review.findings] == [True, False, None]
    assert review.completeness_score == 4
    assert [s.title for s in review.sections] == [s.title for s in profile.sections]
    assert [c.checked for c in review.checklist if c.key == "data_model"] == [False]
    assert review.title == "Loan API design" and review.model == "fake"
    assert review.processing is not None and review.processing.mode == "single"
    # the documents sit in the user message, requirements first (shared prefix for the KV cache)
    user = backend.calls[0].messages[1]["content"]
    assert user.index("FR-1") < user.index("pan_number column")


def test_invalid_output_is_retried_once_with_other_sampling(
    profile: Profile, prompts: Prompts, requirements: Document, design: Document
) -> None:
    backend = FakeBackend(['{"findings": [', schema_output])
    review = _reviewer(backend, profile, prompts).review(requirements, design)
    assert review.processing is not None and review.processing.retries == 1
    first, second = (c.sampling for c in backend.calls)
    assert first.temperature == 0 and second.temperature > 0 and second.seed != first.seed


def test_output_cut_off_at_max_tokens_is_a_failed_generation(
    profile: Profile, prompts: Prompts, requirements: Document, design: Document
) -> None:
    huge = json.dumps(schema_instance({"type": "string"}, "x" * 50_000))
    backend = FakeBackend([huge, huge])
    with pytest.raises(GenerationError, match="after 2 attempts: the output was cut off at 2048 tokens") as info:
        _reviewer(backend, profile, prompts).review(requirements, design)
    assert info.value.raw.startswith('"xxx')


def test_schema_violation_is_reported_with_its_location(
    profile: Profile, prompts: Prompts, requirements: Document, design: Document
) -> None:
    backend = FakeBackend(['{"findings": []}'] * 2)
    with pytest.raises(GenerationError, match="at 'findings'"):
        _reviewer(backend, profile, prompts).review(requirements, design)


def test_duplicated_items_from_a_looping_model_are_dropped_and_noted(
    profile: Profile, prompts: Prompts, requirements: Document, design: Document
) -> None:
    def looping(messages: list[dict[str, str]], schema: dict[str, Any]) -> str:
        data = schema_instance(schema)
        data["strengths"] = ["Clear API", "clear  api", "Good tests"]
        return json.dumps(data)

    review = _reviewer(FakeBackend([looping]), profile, prompts).review(requirements, design)
    assert review.strengths == ["Clear API", "Good tests"]
    assert review.processing is not None and review.processing.repairs == ["1 duplicate strengths"]


def _long_design(sections: int = 12) -> Document:
    body = "".join(
        f"## Section {i}\n\n" + f"Paragraph {i} about Kafka consumers and retries. " * 40 + "\n\n"
        for i in range(sections)
    )
    return doc("# Big design\n\n" + body, "tech-design.md")


def test_a_design_longer_than_the_context_is_reviewed_in_parts_then_summarised(
    profile: Profile, prompts: Prompts, requirements: Document
) -> None:
    design = _long_design()
    backend = FakeBackend([schema_output] * 20, n_ctx=6000)
    review = _reviewer(backend, profile, prompts, max_tokens=1500, part_max_tokens=600).review(requirements, design)
    assert review.processing is not None and review.processing.mode == "sectioned"
    parts = [c.messages[1]["content"] for c in backend.calls[:-1]]
    assert len(parts) == len(review.processing.parts) >= 2
    for call in backend.calls:  # every prompt fits the context with its token budget
        assert backend.count_tokens(call.messages) + call.max_tokens <= backend.n_ctx
    shown = "".join(p.split("<design-part>\n", 1)[1].split("\n</design-part>", 1)[0] for p in parts)
    assert shown.replace("\n", "") == design.text.replace("\n", "")  # nothing dropped
    summary = backend.calls[-1]
    assert "findings" not in summary.schema["properties"] and "## Section 11" not in summary.messages[1]["content"]
    assert "- Section 11" in summary.messages[1]["content"]  # the outline
    assert len(review.findings) == len(parts)  # one finding per part from the responder


def test_requirements_too_long_for_the_context_is_a_clear_error(profile: Profile, prompts: Prompts) -> None:
    requirements = doc("# R\n\n" + "requirement text " * 3000)
    backend = FakeBackend([], n_ctx=4096)
    with pytest.raises(ContextError, match=r"leaving no room for the design.*use a longer context"):
        _reviewer(backend, profile, prompts).review(requirements, _long_design())


def test_a_review_past_its_timeout_fails_without_retry(
    profile: Profile, prompts: Prompts, requirements: Document, design: Document
) -> None:
    backend = FakeBackend([schema_output, schema_output])
    with pytest.raises(GenerationError, match=r"timed out: the review took longer than 0 s"):
        _reviewer(backend, profile, prompts, timeout_s=0).review(requirements, design)
    assert len(backend.calls) == 1 and backend.calls[0].sampling.temperature == 0
