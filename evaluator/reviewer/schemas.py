"""What the model is asked to generate: Pydantic models built from a profile, and their JSON schema.

The model never writes a :class:`~evaluator.review.record.Review` directly. :func:`prose_model`
builds, from a profile, the Pydantic model whose JSON schema becomes the grammar (the schema
always comes from the model, never a hand-written copy). Its fields are ordered evidence
first and verdict last, so a small model writes the scores after it has written down what it
found. Every string and array is bounded, because small models otherwise loop until the token
budget runs out.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from evaluator.grounding.profiles import Profile
from evaluator.review.record import Severity

Score = Literal[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]

_STRICT = ConfigDict(extra="forbid")


def _text(max_length: int, description: str) -> Any:
    return Field(min_length=1, max_length=max_length, description=description)


def _items(max_items: int, description: str, min_items: int = 0) -> Any:
    return Field(min_length=min_items, max_length=max_items, description=description)


class FindingDraft(BaseModel):
    """A finding as the model writes it."""

    model_config = _STRICT
    severity: Severity
    title: str = _text(90, "the problem in a few words")
    detail: str = _text(220, "what is wrong, why it matters and what to change")
    section: str = _text(60, "the heading of the design section concerned")
    evidence: str = Field(max_length=120, description="a short exact quote from the design, or empty")


Bullet = Annotated[str, Field(min_length=3, max_length=140)]


def prose_model(profile: Profile, *, findings: bool = False) -> type[BaseModel]:
    """What the model writes in a grounded review: the prose around the analyses' findings.

    ``findings`` puts the model's own extra findings first (for models large enough to find
    something the analyses missed). Its own scores come last and are kept apart from the
    rubric's. Scores, verdicts, missing elements and the checklist are computed, not asked.
    """
    fields: dict[str, Any] = {}
    if findings:
        fields["findings"] = (list[FindingDraft], _items(3, "problems the analyses missed, most important first"))
    section_fields: dict[str, Any] = {s.key: (str, _text(200, f"{s.title}: {s.asks}")) for s in profile.sections}
    fields.update(
        {
            "strengths": (list[Bullet], _items(4, "strong points of this design, each naming its section", 1)),
            "section_reviews": (create_model("SectionsDraft", __config__=_STRICT, **section_fields), Field()),
            "alternative_approaches": (list[Bullet], _items(2, "viable alternatives to choices in the design")),
            "risk_assessment": (str, _text(240, "the main risks and whether they are mitigated")),
            "next_steps": (list[Bullet], _items(4, "prioritised actions before implementation", 1)),
            "completeness_score": (Score, Field(description="0-10")),
            "technical_soundness_score": (Score, Field(description="0-10")),
        }
    )
    return create_model("ProseDraft", __config__=_STRICT, **fields)


def summary_model() -> type[BaseModel]:
    """What a small model writes: one or two sentences on what the design builds, in its own names."""
    return create_model("SummaryDraft", __config__=_STRICT, summary=(str, _text(300, "what the design builds")))


def answer_model(passage_ids: list[str]) -> type[BaseModel]:
    """A narrow check's answer: the passages it rests on (only these ids exist), then yes/no/unclear."""
    ids: Any = Literal[tuple(passage_ids)] if passage_ids else str
    fields: dict[str, Any] = {
        "passages": (list[ids], _items(2, "ids of the passages the answer rests on")),
        "answer": (Literal["yes", "no", "unclear"], Field()),
    }
    return create_model("Answer", __config__=_STRICT, **fields)


def inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """Resolve ``$ref``s into ``$defs`` so the grammar converter sees one flat schema."""
    defs = schema.get("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return resolve(defs[node["$ref"].rsplit("/", 1)[-1]])
            return {k: resolve(v) for k, v in node.items() if k != "$defs"}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    return resolve(schema)


def generation_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The JSON schema handed to the grammar builder, derived from the Pydantic model."""
    return inline_refs(model.model_json_schema())
