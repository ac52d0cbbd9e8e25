from __future__ import annotations

import json
from typing import Any

import pytest
from llama_cpp import LlamaGrammar

from evaluator.grounding.profiles import load_profile
from evaluator.reviewer.schemas import answer_model, generation_schema, prose_model


def _walk(schema: dict[str, Any], path: str = "$"):
    yield path, schema
    for key, sub in schema.get("properties", {}).items():
        yield from _walk(sub, f"{path}.{key}")
    if "items" in schema:
        yield from _walk(schema["items"], f"{path}[]")


SCHEMAS = {
    "prose": lambda p: prose_model(p),
    "prose+findings": lambda p: prose_model(p, findings=True),
    "answer": lambda p: answer_model(["P1", "P2", "P3"]),
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
    assert ("completeness-score" if kind != "answer" else "unclear") in grammar._grammar


def test_evidence_comes_before_the_verdict() -> None:
    fields = list(generation_schema(prose_model(load_profile(), findings=True))["properties"])
    assert fields[0] == "findings"
    assert fields[-2:] == ["completeness_score", "technical_soundness_score"]
    assert list(generation_schema(answer_model(["P1"]))["properties"]) == ["passages", "answer"]


def test_an_answer_can_only_cite_the_passages_it_was_shown() -> None:
    props = generation_schema(answer_model(["P4", "P9"]))["properties"]
    assert props["passages"]["items"]["enum"] == ["P4", "P9"]
    assert props["answer"]["enum"] == ["yes", "no", "unclear"]


def test_the_model_scores_are_restricted_to_0_to_10_by_the_grammar() -> None:
    props = generation_schema(prose_model(load_profile()))["properties"]
    assert props["completeness_score"]["enum"] == list(range(11))
    assert "overall_assessment" not in props and "checklist" not in props  # computed by the rubric


def test_sections_come_from_the_profile() -> None:
    profile = load_profile("node-express")
    props = generation_schema(prose_model(profile))["properties"]
    assert list(props["section_reviews"]["properties"]) == [s.key for s in profile.sections]


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
@pytest.mark.parametrize("profile_name", ["python-fastapi", "node-express"])
def test_the_longest_allowed_output_fits_the_default_token_budget(real_model: Any, profile_name: str) -> None:
    """If a bound is raised without the budget, outputs get cut off: catch that here, for every profile."""
    from evaluator.grounding.profiles import available_profiles
    from evaluator.reviewer.engine import ReviewSettings

    assert set(available_profiles()) == {"python-fastapi", "node-express"}  # a new profile joins the parameters
    vocab = real_model.llama
    prose = "Consumers retry forever without a dead-letter topic, so a poison message blocks its partition. " * 20
    for kind in ("prose", "prose+findings"):
        text = json.dumps(_worst(generation_schema(SCHEMAS[kind](load_profile(profile_name))), prose))
        tokens = len(vocab.tokenize(text.encode(), add_bos=False))
        assert tokens <= 0.85 * ReviewSettings().max_tokens, (kind, tokens)
