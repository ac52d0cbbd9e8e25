"""The review: what is stored and rendered, and what the model is asked to generate.

:class:`Review` is the record the tool keeps (JSON, DuckDB, markdown). The model never
generates it directly: :func:`draft_model` builds, from a profile, the Pydantic model whose
JSON schema becomes the grammar. Its fields are ordered evidence first and verdict last, so
a small model writes the scores after it has written down what it found. Every string and
array is bounded, because small models otherwise loop until the token budget runs out.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from evaluator.profiles import Profile

SCHEMA_VERSION = 1

Severity = Literal["critical", "recommendation", "suggestion"]
Assessment = Literal["Excellent", "Good", "Needs Improvement", "Requires Rework"]
Readiness = Literal["Ready", "Minor Changes", "Major Changes Required"]
Score = Literal[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]

SEVERITIES: tuple[Severity, ...] = ("critical", "recommendation", "suggestion")
ASSESSMENTS: tuple[Assessment, ...] = ("Excellent", "Good", "Needs Improvement", "Requires Rework")
READINESS: tuple[Readiness, ...] = ("Ready", "Minor Changes", "Major Changes Required")


class Finding(BaseModel):
    """One issue raised by the review."""

    severity: Severity
    title: str
    detail: str = ""
    section: str = ""
    evidence: str = ""
    evidence_found: bool | None = None


class SectionFeedback(BaseModel):
    """Feedback for one subsection of the Section-by-Section Review."""

    key: str | None  # the profile section's key; None for an ingested entry the profile does not have
    title: str
    feedback: str


class ChecklistEntry(BaseModel):
    """One Implementation Readiness Checklist line."""

    key: str | None  # the profile item's key; None for an ingested line the profile does not have
    text: str
    checked: bool


class Processing(BaseModel):
    """How the design was fed to the model."""

    mode: Literal["single", "sectioned", "ingested"]
    passes: int = 0
    parts: list[str] = []
    retries: int = 0
    repairs: list[str] = []

    def describe(self) -> str:
        """One human line, e.g. 'design reviewed in 3 parts, then a summary pass'."""
        if self.mode == "single":
            text = "design reviewed in one pass"
        elif self.mode == "sectioned":
            n = len(self.parts)
            text = f"design too long for one pass: reviewed in {n} part{'' if n == 1 else 's'}, then a summary pass"
        else:
            text = "ingested from an existing review"
        if self.retries:
            text += f"; {self.retries} retr{'y' if self.retries == 1 else 'ies'} after invalid output"
        if self.repairs:
            text += f"; repaired: {', '.join(self.repairs)}"
        return text


class Usage(BaseModel):
    """Tokens and time spent on one review, all passes together."""

    prompt_tokens: int = 0
    cached_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    prompt_seconds: float = 0.0

    def add(self, other: Usage) -> Usage:
        """The sum of two usages."""
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            cached_tokens=self.cached_tokens + other.cached_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            seconds=self.seconds + other.seconds,
            prompt_seconds=self.prompt_seconds + other.prompt_seconds,
        )

    @property
    def tokens_per_second(self) -> float:
        """Completion tokens per second of wall time."""
        return self.completion_tokens / self.seconds if self.seconds > 0 else 0.0

    @property
    def generation_tokens_per_second(self) -> float:
        """Completion tokens per second of generation (prompt evaluation excluded)."""
        seconds = self.seconds - self.prompt_seconds
        return self.completion_tokens / seconds if seconds > 0 else 0.0


class Review(BaseModel):
    """A complete review. Fields are ``None`` only for ingested reviews that lack them."""

    schema_version: int = SCHEMA_VERSION
    title: str
    profile: str
    overall_assessment: Assessment | None = None
    completeness_score: float | None = Field(default=None, ge=0, le=10)
    technical_soundness_score: float | None = Field(default=None, ge=0, le=10)
    implementation_readiness: Readiness | None = None
    strengths: list[str] = []
    findings: list[Finding] = []
    sections: list[SectionFeedback] = []
    missing_elements: list[str] = []
    alternative_approaches: list[str] = []
    risk_assessment: str | None = None
    checklist: list[ChecklistEntry] = []
    next_steps: list[str] = []
    injection_flags: list[str] = []  # "design:instruction_override"...; see evaluator.injection
    model: str | None = None
    processing: Processing | None = None
    usage: Usage | None = None

    def findings_of(self, severity: Severity) -> list[Finding]:
        """The findings of one severity, in order."""
        return [f for f in self.findings if f.severity == severity]


# --- what the model generates ------------------------------------------------------------

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


def draft_model(profile: Profile, *, findings: bool = True, summary: bool = True) -> type[BaseModel]:
    """The model the grammar is built from.

    ``findings`` adds the findings list (evidence first); ``summary`` adds the sections,
    lists, checklist and — last — the scores and verdicts. A single-pass review has both;
    a part of a long design only findings (plus strengths); the summary pass only summary.
    """
    fields: dict[str, Any] = {}
    if findings:
        fields["findings"] = (list[FindingDraft], _items(5, "problems found, most important first", 1))
    fields["strengths"] = (list[Bullet], _items(4, "specific strong points", 1))
    if summary:
        fields.update(_summary_fields(profile))
    return create_model("ReviewDraft", __config__=_STRICT, **fields)


def part_model() -> type[BaseModel]:
    """What the model writes for one part of a design too long for one pass."""
    fields: dict[str, Any] = {
        "findings": (list[FindingDraft], _items(4, "problems found in this part", 0)),
        "strengths": (list[Bullet], _items(2, "strong points of this part", 0)),
    }
    return create_model("PartDraft", __config__=_STRICT, **fields)


def _summary_fields(profile: Profile) -> dict[str, Any]:
    section_fields: dict[str, Any] = {s.key: (str, _text(200, f"{s.title}: {s.asks}")) for s in profile.sections}
    checklist_fields: dict[str, Any] = {c.key: (bool, Field(description=c.text)) for c in profile.checklist}
    sections = create_model("SectionsDraft", __config__=_STRICT, **section_fields)
    checklist = create_model("ChecklistDraft", __config__=_STRICT, **checklist_fields)
    return {
        "section_reviews": (sections, Field(description="feedback per review section")),
        "missing_elements": (list[Bullet], _items(4, "what the design leaves out")),
        "alternative_approaches": (list[Bullet], _items(2, "viable alternatives")),
        "risk_assessment": (str, _text(240, "the main risks and whether they are mitigated")),
        "checklist": (checklist, Field(description="true when the design satisfies the item")),
        "next_steps": (list[Bullet], _items(4, "prioritised actions before implementation", 1)),
        "completeness_score": (Score, Field(description="0-10")),
        "technical_soundness_score": (Score, Field(description="0-10")),
        "overall_assessment": (Assessment, Field()),
        "implementation_readiness": (Readiness, Field()),
    }


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
