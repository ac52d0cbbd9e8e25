from __future__ import annotations

import json
from typing import Any

import pytest
from llama_cpp import LlamaGrammar

from evaluator.profiles import load_profile
from evaluator.review import draft_model, generation_schema, part_model


def _walk(schema: dict[str, Any], path: str = "$"):
    yield path, schema
    for key, sub in schema.get("properties", {}).items():
        yield from _walk(sub, f"{path}.{key}")
    if "items" in schema:
        yield from _walk(schema["items"], f"{path}[]")


SCHEMAS = {
    "single": lambda p: draft_model(p),
    "summary": lambda p: draft_model(p, findings=False),
    "part": lambda p: part_model(),
}


@pytest.mark.parametrize("kind", SCHEMAS)
@pytest.mark.parametrize("profile_name", ["python-fastapi", "node-express"])
def test_every_string_and_array_is_bounded(kind: str, profile_name: str) -> None:
    schema = generation_schema(SCHEMAS[kind](load_profile(profile_name)))
    assert "$ref" not in json.dumps(schema)
    for path, node in _walk(schema):
        if node.get("type") == "string" and "enum" not in node:
            assert "maxLength" in node, path
        if node.get("type") == "array":
            assert "maxItems" in node, path
        if node.get("type") == "object":
            assert node.get("additionalProperties") is False, path
            assert set(node["required"]) == set(node["properties"]), path


@pytest.mark.parametrize("kind", SCHEMAS)
def test_the_grammar_builds_without_fallback(kind: str) -> None:
    schema = generation_schema(SCHEMAS[kind](load_profile()))
    grammar = LlamaGrammar.from_json_schema(json.dumps(schema), verbose=False)
    assert "completeness-score" in grammar._grammar or kind == "part"


def test_evidence_comes_before_the_verdict() -> None:
    fields = list(generation_schema(draft_model(load_profile()))["properties"])
    assert fields[0] == "findings"
    assert fields[-4:] == [
        "completeness_score",
        "technical_soundness_score",
        "overall_assessment",
        "implementation_readiness",
    ]


def test_scores_are_restricted_to_0_to_10_by_the_grammar() -> None:
    props = generation_schema(draft_model(load_profile()))["properties"]
    assert props["completeness_score"]["enum"] == list(range(11))
    assert props["overall_assessment"]["enum"] == ["Excellent", "Good", "Needs Improvement", "Requires Rework"]


def test_sections_and_checklist_come_from_the_profile() -> None:
    profile = load_profile("node-express")
    props = generation_schema(draft_model(profile))["properties"]
    assert list(props["section_reviews"]["properties"]) == [s.key for s in profile.sections]
    assert list(props["checklist"]["properties"]) == [c.key for c in profile.checklist]
    assert all(v["type"] == "boolean" for v in props["checklist"]["properties"].values())


def _worst(schema: dict[str, Any], text: str) -> Any:
    """The longest instance the schema allows: every array full, every string at its limit."""
    if "enum" in schema:
        return max(schema["enum"], key=lambda v: len(str(v)))
    kind = schema.get("type")
    if kind == "object":
        return {k: _worst(v, text) for k, v in schema["properties"].items()}
    if kind == "array":
        return [_worst(schema["items"], text) for _ in range(schema["maxItems"])]
    if kind == "string":
        return text[: schema["maxLength"]]
    return False


@pytest.mark.model
def test_the_longest_allowed_output_fits_the_default_token_budgets(real_model: Any) -> None:
    """If a bound is raised without the budget, outputs get cut off: catch that here (the real tokenizer)."""
    from evaluator.reviewer import ReviewSettings

    vocab = real_model.llama
    prose = "Consumers retry forever without a dead-letter topic, so a poison message blocks its partition. " * 20
    settings = ReviewSettings()
    budgets = {"single": settings.max_tokens, "summary": settings.max_tokens, "part": settings.part_max_tokens}
    for kind, budget in budgets.items():
        text = json.dumps(_worst(generation_schema(SCHEMAS[kind](load_profile())), prose))
        tokens = len(vocab.tokenize(text.encode(), add_bos=False))
        assert tokens <= 0.85 * budget, (kind, tokens, budget)
