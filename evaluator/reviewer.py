"""Reviewing one case: a design against its requirements, with one loaded model.

A design that fits the context is reviewed in one pass. A longer one is split at its
headings into parts that fit; each part gets a findings pass, then a summary pass sees the
design's outline and the parts' findings and writes the rest of the review. Nothing is
truncated: when even the smallest split cannot fit, the user is told what to change.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import BaseModel, ValidationError

from evaluator.backends.base import Backend, Sampling
from evaluator.documents import Document
from evaluator.errors import ContextError, GenerationError
from evaluator.injection import InjectionFlag, detect
from evaluator.profiles import Profile
from evaluator.prompts import Message, Prompts
from evaluator.review import (
    SEVERITIES,
    ChecklistEntry,
    Finding,
    Processing,
    Review,
    SectionFeedback,
    Usage,
    draft_model,
    generation_schema,
    part_model,
)
from evaluator.text import dedupe, pack_parts, quote_found

_MARGIN = 16
_MIN_PART_TOKENS = 256
_DEDUPED_LISTS = ("findings", "strengths", "missing_elements", "alternative_approaches", "next_steps")


@dataclass(frozen=True)
class ReviewSettings:
    """Token budgets and sampling for one review."""

    max_tokens: int = 2048
    part_max_tokens: int = 1024
    retries: int = 1
    timeout_s: float | None = None  # for the whole review, all passes together
    sampling: Sampling = field(default_factory=Sampling)

    def retry_sampling(self, attempt: int) -> Sampling:
        """A retry must not repeat the failed output: warm up, reseed, penalise repeats more."""
        s = self.sampling
        return replace(
            s, temperature=max(s.temperature, 0.3), seed=s.seed + attempt, repeat_penalty=s.repeat_penalty + 0.1
        )


@dataclass
class _Tally:
    usage: Usage = field(default_factory=Usage)
    passes: int = 0
    retries: int = 0
    repairs: list[str] = field(default_factory=list)
    deadline: float | None = None


class Reviewer:
    """Reviews cases with one backend, profile and prompt set."""

    def __init__(
        self,
        backend: Backend,
        profile: Profile,
        prompts: Prompts,
        settings: ReviewSettings | None = None,
        progress: Callable[[str], None] | None = None,
    ):
        self.backend = backend
        self.profile = profile
        self.prompts = prompts
        self.settings = settings or ReviewSettings()
        self._progress = progress or (lambda _message: None)

    def review(self, requirements: Document, design: Document) -> Review:
        """Review ``design`` against ``requirements``; raise an EvaluatorError if impossible."""
        tally = _Tally()
        if self.settings.timeout_s is not None:
            tally.deadline = time.monotonic() + self.settings.timeout_s
        ctx: dict[str, Any] = {
            "profile": self.profile,
            "requirements": requirements.text,
            "design_title": design.title,
        }
        single = self.prompts.messages("review.md.j2", design=design.text, **ctx)
        if self._fits(single, self.settings.max_tokens):
            self._progress("reviewing the design in one pass")
            draft = self._generate(single, draft_model(self.profile), self.settings.max_tokens, tally)
            processing = Processing(mode="single")
            findings, strengths, summary = draft.findings, draft.strengths, draft
        else:
            findings, strengths, summary, processing = self._review_in_parts(design, ctx, tally)
        processing.passes, processing.retries, processing.repairs = tally.passes, tally.retries, tally.repairs
        review = self._assemble(design, findings, strengths, summary, processing, tally.usage)
        return flag_injection(review, detect(requirements.text, "requirements") + detect(design.text, "design"))

    def _review_in_parts(self, design: Document, ctx: dict[str, Any], tally: _Tally) -> tuple[Any, ...]:
        """Findings pass per part, then the summary pass; see the module docstring."""
        parts = self._split(design, ctx)
        findings, strengths = [], []
        for i, part in enumerate(parts, 1):
            self._progress(f"reviewing part {i} of {len(parts)}")
            messages = self.prompts.messages("part.md.j2", part=part, part_index=i, part_count=len(parts), **ctx)
            draft = self._generate(messages, part_model(), self.settings.part_max_tokens, tally)
            findings += draft.findings
            strengths += draft.strengths
        summary = self._summarise(design, parts, findings, ctx, tally)
        strengths = dedupe(strengths + summary.strengths)[:6]
        return findings, strengths, summary, Processing(mode="sectioned", parts=[_part_label(p) for p in parts])

    def _fits(self, messages: list[Message], max_tokens: int) -> bool:
        return self.backend.count_tokens(messages) + max_tokens + _MARGIN <= self.backend.n_ctx

    def _split(self, design: Document, ctx: dict[str, Any]) -> list[str]:
        empty = self.prompts.messages("part.md.j2", part="", part_index=1, part_count=1, **ctx)
        overhead = self.backend.count_tokens(empty)
        budget = self.backend.n_ctx - self.settings.part_max_tokens - overhead - _MARGIN
        if budget < _MIN_PART_TOKENS:
            raise ContextError(
                f"the instructions and requirements take {overhead} tokens, leaving no room for the design "
                f"in a {self.backend.n_ctx}-token context — use a longer context or a model with one",
                settings=("n_ctx",),
            )
        return pack_parts([s.text + "\n" for s in design.sections], budget, self.count_text)

    def count_text(self, text: str) -> int:
        """Tokens of a bare text for this backend."""
        return self.backend.count_tokens([{"role": "user", "content": text}])

    def _summarise(
        self, design: Document, parts: list[str], findings: list[Any], ctx: dict[str, Any], tally: _Tally
    ) -> Any:
        outline = "\n".join(f"{'  ' * max(s.level - 1, 0)}- {s.heading}" for s in design.sections if s.heading)
        for detailed in (True, False):
            notes = "\n".join(_note(f, detailed) for f in findings) or "- no problems were found in the parts"
            messages = self.prompts.messages(
                "summary.md.j2", outline=outline, notes=notes, part_count=len(parts), **ctx
            )
            if self._fits(messages, self.settings.max_tokens):
                self._progress("summary pass over all parts")
                model = draft_model(self.profile, findings=False)
                return self._generate(messages, model, self.settings.max_tokens, tally)
        raise ContextError(
            f"the summary of {len(parts)} parts does not fit a {self.backend.n_ctx}-token context — "
            "use a longer context or a model with one",
            settings=("n_ctx",),
        )

    def _generate(self, messages: list[Message], model: type[BaseModel], max_tokens: int, tally: _Tally) -> Any:
        schema = generation_schema(model)
        attempts = 1 + self.settings.retries
        problem, raw = "", ""
        for attempt in range(attempts):
            sampling = self.settings.sampling if attempt == 0 else self.settings.retry_sampling(attempt)
            gen = self.backend.generate(
                messages, schema=schema, max_tokens=max_tokens, sampling=sampling, deadline=tally.deadline
            )
            tally.usage, tally.passes, raw = tally.usage.add(gen.usage), tally.passes + 1, gen.text
            if attempt:
                tally.retries += 1
            if gen.finish_reason == "timeout":
                raise GenerationError(f"timed out: the review took longer than {self.settings.timeout_s:g} s", raw=raw)
            if gen.finish_reason == "length":
                problem = f"the output was cut off at {max_tokens} tokens"
                continue
            if gen.finish_reason == "loop":
                problem = "the model repeated itself in a loop"
                continue
            try:
                return _validate(model, gen.text, tally.repairs)
            except json.JSONDecodeError as exc:
                problem = f"the output is not JSON ({exc.msg} at char {exc.pos})"
            except ValidationError as exc:
                err = exc.errors()[0]
                problem = f"the output does not match the schema at '{'.'.join(map(str, err['loc']))}': {err['msg']}"
        raise GenerationError(f"the model gave no valid review after {attempts} attempts: {problem}", raw=raw)

    def _assemble(
        self,
        design: Document,
        drafts: list[Any],
        strengths: list[str],
        summary: Any,
        processing: Processing,
        usage: Usage,
    ) -> Review:
        findings = [
            Finding(
                **d.model_dump(), evidence_found=quote_found(d.evidence, design.text) if d.evidence.strip() else None
            )
            for d in drafts
        ]
        findings.sort(key=lambda f: SEVERITIES.index(f.severity))
        feedback = summary.section_reviews
        ticks = summary.checklist
        return Review(
            title=design.title,
            profile=self.profile.name,
            overall_assessment=summary.overall_assessment,
            completeness_score=summary.completeness_score,
            technical_soundness_score=summary.technical_soundness_score,
            implementation_readiness=summary.implementation_readiness,
            strengths=strengths,
            findings=findings,
            sections=[
                SectionFeedback(key=s.key, title=s.title, feedback=getattr(feedback, s.key))
                for s in self.profile.sections
            ],
            missing_elements=summary.missing_elements,
            alternative_approaches=summary.alternative_approaches,
            risk_assessment=summary.risk_assessment,
            checklist=[
                ChecklistEntry(key=c.key, text=c.text, checked=getattr(ticks, c.key)) for c in self.profile.checklist
            ],
            next_steps=summary.next_steps,
            model=self.backend.name,
            processing=processing,
            usage=usage,
        )


def flag_injection(review: Review, flags: list[InjectionFlag]) -> Review:
    """Add a critical finding per document that tries to instruct the reviewer.

    Added after generation by the tool, not by the model: a small model may well obey the
    injected text, so whether it noticed cannot be trusted.
    """
    found = []
    for document in ("design", "requirements"):
        mine = [f for f in flags if f.document == document]
        if mine:
            kinds = ", ".join(f.kind.replace("_", " ") for f in mine)
            quotes = "; ".join(f"“{f.evidence}”" for f in mine)
            found.append(
                Finding(
                    severity="critical",
                    title=f"Possible prompt injection in the {document}",
                    detail=f"The {document} contains text aimed at the reviewer ({kinds}): {quotes}. "
                    "Remove it and check the scores of this review by hand.",
                    section="",
                    evidence=mine[0].evidence,
                    evidence_found=True if document == "design" else None,  # the render says "found in the design"
                )
            )
    labels = sorted({f.label for f in flags})
    return review.model_copy(update={"findings": found + review.findings, "injection_flags": labels})


def _validate(model: type[BaseModel], text: str, repairs: list[str]) -> BaseModel:
    """Parse and validate; drop duplicated list items (a small model's loop) and note it."""
    data = json.loads(text, strict=False)
    if isinstance(data, dict):
        for key in _DEDUPED_LISTS:
            items = data.get(key)
            if isinstance(items, list):
                kept = dedupe(items)
                if len(kept) < len(items):
                    repairs.append(f"{len(items) - len(kept)} duplicate {key}")
                    data[key] = kept
    return model.model_validate(data)


def _part_label(part: str) -> str:
    heading = next((line.lstrip("#").strip() for line in part.splitlines() if line.startswith("#")), "")
    return heading or part.strip().splitlines()[0][:60]


def _note(finding: Any, detailed: bool) -> str:
    text = f"- [{finding.severity}] {finding.title} (section: {finding.section})"
    return f"{text}: {finding.detail}" if detailed else text
