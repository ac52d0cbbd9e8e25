"""Reviewing one case: a design against its requirements, grounded in both documents.

1. The analyses (:mod:`evaluator.grounding`) trace every requirement to design passages,
   run the profile's checks and look for prompt injection. Their findings cite passages
   of the design, with line numbers. Where a check's rules cannot decide, the model answers
   one narrow yes/no question over a few passages (when ``ReviewSettings.questions``).
2. One model pass writes the prose — strengths, section feedback, alternatives, risks and
   next steps — from the findings and the passages they cite, never from the whole design,
   so a design of any length fits the context. Prose that names nothing of this design
   (no requirement id, section or passage) is replaced by text built from the analyses.
3. The rubric (:mod:`evaluator.review.rubric`) computes scores, verdicts and the checklist from
   the findings and the coverage; the model's own scores are kept in separate fields.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import BaseModel, ValidationError

from evaluator.backends.base import Backend, Message, Sampling
from evaluator.documents.passages import Passage
from evaluator.documents.read import Document
from evaluator.errors import ContextError, GenerationError
from evaluator.grounding.base import Analysis, Ask, Grounding, run_analyses
from evaluator.grounding.checks import CheckAnalysis
from evaluator.grounding.coverage import CoverageAnalysis
from evaluator.grounding.injection import InjectionAnalysis
from evaluator.grounding.profiles import Profile
from evaluator.grounding.reconcile import reconcile
from evaluator.grounding.verify import verify
from evaluator.review.record import SEVERITIES, Processing, Review, Usage
from evaluator.review.rubric import coverage_ratio, verdict
from evaluator.reviewer.compose import Composer
from evaluator.reviewer.prompts import Prompts
from evaluator.reviewer.schemas import answer_model, generation_schema, prose_model, summary_model
from evaluator.text import dedupe

_MARGIN = 16
_DEDUPED_LISTS = ("findings", "strengths", "alternative_approaches", "next_steps")
_QUESTION_TOKENS = 48
_SUMMARY_TOKENS = 120  # two sentences
_CAPABLE_PARAMS = 1_000_000_000


@dataclass(frozen=True)
class ReviewSettings:
    """Token budgets and sampling for one review.

    ``questions``: let the model answer the checks its rules cannot decide (one short call
    each). ``model_findings``: ask the model for its own extra findings too. None means: only
    for a model of at least 1B parameters, or one whose size the backend does not report
    (a server's). The embedded 135M model's yes/no answers agreed with the rules on 56 % of
    118 checks they had decided, saying "yes" about half the time whatever the passages
    showed (README, "How a review is grounded"): for it the rules alone decide.

    ``prose``: ask the model to write the review's prose (strengths, section reviews, risks, next
    steps) around the analyses. None means: only a model of at least 1B parameters or of unknown
    size; a smaller one is asked only for a one- or two-sentence summary of what the design builds
    (README, "What the model writes"): of its full prose pass on 8 designs, one review kept
    any text, and the pass took ~90 % of a review's time.
    """

    max_tokens: int = 2048
    retries: int = 1
    timeout_s: float | None = None  # for the whole review, all passes together
    sampling: Sampling = field(default_factory=Sampling)
    questions: bool | None = None
    model_findings: bool | None = None
    prose: bool | None = None
    prompt_passages: int = 14

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

    def ground(self, requirements: Document, design: Document, ask: Ask | None = None) -> Grounding:
        """Run the analyses (coverage, checks, injection) over one case, let a capable model confirm
        or refute their blocking findings (when ``ask``), and reconcile them per requirement."""
        analyses: list[Analysis] = [
            CoverageAnalysis(),
            CheckAnalysis(self.profile.checks, self.profile.technologies),
            InjectionAnalysis(),
        ]
        g = run_analyses(Grounding.of(requirements, design, ask), analyses)
        return reconcile(verify(g, self.profile.checks))

    def prose_messages(self, requirements: Document, design: Document) -> list[Message]:
        """The full prose pass's messages for a case, as a review that writes prose sends them (for the bench)."""
        composer = Composer(self.profile, self.ground(requirements, design))
        return self.prompts.messages(
            "grounded.md.j2", own_findings=self._own_findings(), **composer.prompt(self.settings.prompt_passages)
        )

    def model_messages(self, requirements: Document, design: Document) -> list[Message]:
        """The messages of the pass this reviewer's review sends for a case: the full prose pass, or a
        small model's summary pass (``ReviewSettings.prose``)."""
        if self._writes_prose():
            return self.prose_messages(requirements, design)
        composer = Composer(self.profile, self.ground(requirements, design))
        return self.prompts.messages("summary.md.j2", system="brief.md.j2", **composer.summary_prompt())

    def model_output(self) -> type[BaseModel]:
        """The output model of that pass: the prose pass's, or the summary's."""
        return self.prose_model() if self._writes_prose() else summary_model()

    def review(self, requirements: Document, design: Document) -> Review:
        """Review ``design`` against ``requirements``; raise an EvaluatorError if impossible."""
        tally = _Tally()
        if self.settings.timeout_s is not None:
            tally.deadline = time.monotonic() + self.settings.timeout_s
        self._progress("tracing requirements and running the checks")
        asks = self._capable() if self.settings.questions is None else self.settings.questions
        g = self.ground(requirements, design, self._asker(design, tally) if asks else None)
        composer = Composer(self.profile, g)
        self._progress("writing the review")
        full = self._writes_prose()
        prose = self._prose(composer, tally) if full else {}
        summary = "" if full else composer.summary(self._summary(composer, tally))
        findings = composer.findings(prose.get("findings", []))
        findings.sort(key=lambda f: SEVERITIES.index(f.severity))
        mandatory = [c.status for c in g.coverage if c.requirement.mandatory]
        v = verdict(findings, coverage_ratio(mandatory))
        strengths = composer.strengths(prose.get("strengths", []))
        sections = composer.sections(prose.get("section_reviews", {}), findings, summary)
        alternatives = composer.alternatives(prose.get("alternative_approaches", []))
        risk = composer.risk(prose.get("risk_assessment", ""), findings)
        next_steps = composer.next_steps(prose.get("next_steps", []), findings)
        processing = Processing(
            mode="grounded",
            passes=tally.passes,
            retries=tally.retries,
            repairs=tally.repairs,
            model_parts=composer.model_parts,
        )
        return Review(
            title=design.title,
            profile=self.profile.name,
            overall_assessment=v.assessment,
            completeness_score=v.completeness,
            technical_soundness_score=v.soundness,
            implementation_readiness=v.readiness,
            strengths=strengths,
            findings=findings,
            sections=sections,
            missing_elements=composer.missing_elements(findings),
            alternative_approaches=alternatives,
            risk_assessment=risk,
            checklist=composer.checklist(findings),
            next_steps=next_steps,
            injection_flags=sorted({f.label for f in g.injection_flags}),
            coverage=composer.coverage(),
            model_completeness_score=prose.get("completeness_score"),
            model_technical_soundness_score=prose.get("technical_soundness_score"),
            model=self.backend.name,
            processing=processing,
            usage=tally.usage,
            design_source=design.converted_from,
        )

    def _asker(self, design: Document, tally: _Tally) -> Ask:
        def ask(question: str, passages: Sequence[Passage], requirement: str = "") -> tuple[str, list[str]]:
            model = answer_model([p.id for p in passages])
            messages = self.prompts.messages(
                "question.md.j2",
                profile=self.profile,
                design_title=design.title,
                question=question,
                passages=passages,
                requirement=requirement,
            )
            try:
                answer = self._generate(messages, model, _QUESTION_TOKENS, tally)
            except GenerationError:
                return "unclear", []
            return str(answer.answer), list(answer.passages)

        return ask

    def prose_model(self) -> type[BaseModel]:
        """What the prose pass asks of this model (with findings of its own when it is capable)."""
        return prose_model(self.profile, findings=self._own_findings())

    def _prose(self, composer: Composer, tally: _Tally) -> dict[str, Any]:
        """The model's prose pass; fewer passages until the prompt fits the context."""
        own_findings = self._own_findings()
        model = self.prose_model()
        for count in (self.settings.prompt_passages, self.settings.prompt_passages // 2, 2):
            messages = self.prompts.messages("grounded.md.j2", own_findings=own_findings, **composer.prompt(count))
            if self._fits(messages, self.settings.max_tokens):
                return self._generate(messages, model, self.settings.max_tokens, tally).model_dump()
        raise ContextError(
            f"the review prompt does not fit a {self.backend.n_ctx}-token context even with 2 passages — "
            "use a model with a longer context"
        )

    def _summary(self, composer: Composer, tally: _Tally) -> str:
        """A small model's only pass: what the design builds, from its opening passages ("" when the
        model fails at it; the review does not depend on it)."""
        messages = self.prompts.messages("summary.md.j2", system="brief.md.j2", **composer.summary_prompt())
        if not self._fits(messages, _SUMMARY_TOKENS):
            return ""
        try:
            return str(self._generate(messages, summary_model(), _SUMMARY_TOKENS, tally).summary)
        except GenerationError as exc:
            if tally.deadline is not None and time.monotonic() >= tally.deadline:
                raise  # a review past its time fails, whatever pass it was in
            tally.repairs.append(f"summary not written: {exc}")
            return ""

    def _writes_prose(self) -> bool:
        return self._capable() if self.settings.prose is None else self.settings.prose

    def _own_findings(self) -> bool:
        return self._capable() if self.settings.model_findings is None else self.settings.model_findings

    def _capable(self) -> bool:
        """Whether the model is large enough to find things on its own (>= 1B parameters, or unknown)."""
        params = getattr(self.backend, "n_params", None)
        return params is None or params >= _CAPABLE_PARAMS

    def _fits(self, messages: list[Message], max_tokens: int) -> bool:
        return self.backend.count_tokens(messages) + max_tokens + _MARGIN <= self.backend.n_ctx

    def count_text(self, text: str) -> int:
        """Tokens of a bare text for this backend."""
        return self.backend.count_tokens([{"role": "user", "content": text}])

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
