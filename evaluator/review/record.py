"""The review: the record the tool keeps (JSON, DuckDB, markdown) and renders.

:class:`Review` and its parts are what every room shares: the analyses produce
:class:`Finding` objects, the store writes them, the report and the gate read them. The model
never generates a Review directly: what it is asked to write (and the JSON schema of its
grammar) is built from a profile in :mod:`evaluator.reviewer.schemas`.
"""

from __future__ import annotations

import hashlib
from typing import Literal

from pydantic import BaseModel, Field

from evaluator.text import normalise

SCHEMA_VERSION = 1

Severity = Literal["critical", "recommendation", "suggestion"]
Assessment = Literal["Excellent", "Good", "Needs Improvement", "Requires Rework"]
Readiness = Literal["Ready", "Minor Changes", "Major Changes Required"]

SEVERITIES: tuple[Severity, ...] = ("critical", "recommendation", "suggestion")
ASSESSMENTS: tuple[Assessment, ...] = ("Excellent", "Good", "Needs Improvement", "Requires Rework")
READINESS: tuple[Readiness, ...] = ("Ready", "Minor Changes", "Major Changes Required")


FindingSource = Literal["coverage", "check", "model", "injection"]
EvidenceKind = Literal["shows", "absent"]


class Finding(BaseModel):
    """One issue raised by the review.

    ``source`` says which analysis raised it (None for ingested reviews);
    ``requirement_id`` / ``check_id`` what it concerns; ``line_start``/``line_end`` (1-based,
    inclusive) and ``passage_ids`` where its evidence is in the design. Evidence from an
    analysis is a design passage, so ``evidence_found`` is True by construction; a quote a
    model wrote is checked and, when not found, kept but marked False and never counted.

    A finding of an analysis is one of two kinds (``evidence_kind``):

    * ``shows`` — ``evidence`` quotes the design passage (on one line) and
      ``evidence[match_start:match_end]`` are the words the rule matched;
    * ``absent`` — the design lacks something: there is no quote; ``searched_for`` says what
      was looked for and ``expected_in`` the design section where it would belong ("" when the
      design has none).

    ``requirement_text`` and ``requirement_line`` (1-based, in the requirements document) quote
    the requirement the finding rests on; a critical or recommendation finding of an analysis
    always has one. ``model_verdict`` is a capable model's yes / no / unclear when asked to
    confirm the finding over its evidence (None when no model was asked).
    """

    severity: Severity
    title: str
    detail: str = ""
    section: str = ""
    evidence: str = ""
    evidence_found: bool | None = None
    source: FindingSource | None = None
    requirement_id: str | None = None
    check_id: str | None = None
    line_start: int | None = None
    line_end: int | None = None
    passage_ids: list[str] = []
    evidence_kind: EvidenceKind | None = None
    match_start: int | None = None
    match_end: int | None = None
    requirement_text: str = ""
    requirement_line: int | None = None
    searched_for: list[str] = []
    expected_in: str = ""
    model_verdict: Literal["yes", "no", "unclear"] | None = None

    @property
    def matched(self) -> str:
        """The words of the evidence the rule matched ("" when none are marked)."""
        if self.match_start is None or self.match_end is None:
            return ""
        return self.evidence[self.match_start : self.match_end]

    @property
    def fingerprint(self) -> str:
        """A stable identity of the finding across re-reviews and revisions of a design: 16 hex
        digits of SHA-256 over what raised it — the analysis (``source``), the check, the
        requirement and whether it shows something or states an absence — and, for a finding
        that names neither a check nor a requirement (a model's own finding, an injection
        finding, most ingested findings), its normalised title.

        Never line numbers, message wording or the words the rule matched: an analysis raises at
        most one finding per check or requirement in a review, and which of several matching
        passages comes first depends on the order of the design's lines (reversing the sections
        of the 21 sample designs changed 3 of their 76 fingerprints when the matched words counted).
        An ingested finding has no analysis: its ``source`` part is empty, so it never shares a
        fingerprint with a generated one.
        """
        what = "" if self.check_id or self.requirement_id else normalise(self.title)
        parts = (self.source or "", self.check_id or "", self.requirement_id or "", self.evidence_kind or "", what)
        return hashlib.sha256("|".join(parts).encode("utf-8")).hexdigest()[:16]

    @property
    def lines(self) -> str:
        """``line 12``, ``lines 12–14`` or "" when the evidence has no location."""
        if self.line_start is None:
            return ""
        end = self.line_end or self.line_start
        return f"line {self.line_start}" if end == self.line_start else f"lines {self.line_start}–{end}"


CoverageStatus = Literal["covered", "partial", "not_addressed", "contradicted"]


class EvidencePassage(BaseModel):
    """A design passage cited as evidence: id, line span and text."""

    passage_id: str
    line_start: int
    line_end: int
    text: str


class RequirementCoverage(BaseModel):
    """How one requirement is traced to the design (see evaluator.grounding.coverage)."""

    requirement_id: str
    text: str
    mandatory: bool = True
    status: CoverageStatus
    score: float
    evidence: list[EvidencePassage] = []


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

    mode: Literal["single", "sectioned", "ingested", "grounded"]
    passes: int = 0
    parts: list[str] = []
    retries: int = 0
    repairs: list[str] = []
    model_parts: list[str] = []  # the parts of a grounded review whose text the model wrote (and that were kept)

    def describe(self) -> str:
        """One human line, e.g. 'design reviewed in 3 parts, then a summary pass'."""
        if self.mode == "single":
            text = "design reviewed in one pass"
        elif self.mode == "grounded":
            text = f"grounded review: analyses plus {self.passes} model pass{'' if self.passes == 1 else 'es'}"
            wrote = ", ".join(p.replace("_", " ") for p in self.model_parts)
            text += f" (the model wrote: {wrote})" if wrote else " (no model text was kept: the analyses wrote it all)"
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
    injection_flags: list[str] = []  # "design:instruction_override"...; see evaluator.grounding.injection
    coverage: list[RequirementCoverage] = []
    model_completeness_score: float | None = None  # the model's own scores, kept apart from the rubric's
    model_technical_soundness_score: float | None = None
    model: str | None = None
    processing: Processing | None = None
    usage: Usage | None = None
    design_source: str | None = None  # 'tech-design.docx by markitdown 0.1.9' when the design was converted

    def findings_of(self, severity: Severity) -> list[Finding]:
        """The findings of one severity, in order."""
        return [f for f in self.findings if f.severity == severity]
