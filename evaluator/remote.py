"""Reviewing a batch's jobs in other processes or on other machines (the Ray executor).

The thread executor shares the driver's open backend. A remote worker cannot: it opens its
own backend from a picklable *opener* (``functools.partial(backend_factory, ModelOptions(...))``
or any importable function returning a :class:`~evaluator.backends.BackendFactory`) and
builds its own :class:`~evaluator.reviewer.engine.Reviewer` from a :class:`CaseWork`, which holds
what the batch decided (profile, prompts, settings) and what identifies it (the model and
prompt digests of the cache keys). A worker whose model or prompts differ from the driver's
refuses to start: its reviews would be stored under cache keys that do not describe them.

A worker returns a :class:`CaseResult` (plain data, picklable); the driver turns it back
into the future the :class:`~evaluator.batch.Recorder` stores, so both executors record
through the same writer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from evaluator.backends import BackendFactory, ModelInfo
from evaluator.capacity import plan_capacity
from evaluator.errors import EvaluatorError, GenerationError, ModelError, PromptError
from evaluator.grounding.profiles import Profile
from evaluator.review.record import Review
from evaluator.reviewer.engine import Reviewer, ReviewSettings
from evaluator.reviewer.prompts import Prompts

if TYPE_CHECKING:
    from evaluator.batch import Job

Opener = Callable[[], BackendFactory]


@dataclass(frozen=True)
class CaseWork:
    """Everything a remote worker needs to review jobs as the driver would (picklable).

    ``parallel``: cases one worker decodes together (None: what fits its machine).
    ``info`` and ``prompt_hash``: the driver's model and prompts, which the cache keys cover.
    """

    profile: Profile
    prompts_dir: Path | None
    prompt_hash: str
    settings: ReviewSettings
    info: ModelInfo
    parallel: int | None = 1

    @contextmanager
    def reviewer(self, factory: BackendFactory, cases: int) -> Iterator[tuple[Reviewer, int]]:
        """Open ``factory`` for up to ``cases`` cases; yield a reviewer over it and the cases it decodes together.

        Raises :class:`ModelError` or :class:`PromptError` when this machine's model or
        prompts are not the driver's, and whatever ``factory.open`` raises.
        """
        info = factory.model_info()
        mine, planned = (
            (info.name, info.digest, info.n_ctx, info.kind),
            (
                self.info.name,
                self.info.digest,
                self.info.n_ctx,
                self.info.kind,
            ),
        )
        if mine != planned:
            raise ModelError(f"a worker has model {_describe(info)}, the batch was planned for {_describe(self.info)}")
        prompts = Prompts(self.prompts_dir)
        if prompts.digest() != self.prompt_hash:
            raise PromptError(
                "a worker's prompt templates differ from the batch's: install the same version everywhere"
            )
        parallel = 1
        if self.parallel != 1:
            parallel = plan_capacity(self.parallel, factory.memory(), info.n_ctx, max(1, cases)).parallel
        with factory.open(parallel) as backend:
            yield Reviewer(backend, self.profile, prompts, self.settings), parallel


def review_job(reviewer: Reviewer, job: Job, worker: str = "") -> CaseResult:
    """Review one job; an expected failure (EvaluatorError) becomes part of the result, a bug raises."""
    tokens = doc_tokens(job, reviewer.count_text)
    try:
        return CaseResult(reviewer.review(job.requirements, job.design), doc_tokens=tokens, worker=worker)
    except GenerationError as exc:
        return CaseResult(None, str(exc), exc.raw, tokens, worker)
    except EvaluatorError as exc:
        return CaseResult(None, str(exc), None, tokens, worker)


def doc_tokens(job: Job, count_text: Callable[[str], int]) -> dict[str, int]:
    """The tokens of the job's two documents, by sha256, as ``count_text`` counts them."""
    return {d.sha256: count_text(d.text) for d in (job.design, job.requirements)}


@dataclass
class CaseResult:
    """What a worker made of one job: the review, or the error (and the raw output), and the documents' tokens."""

    review: Review | None
    error: str | None = None
    raw: str | None = None
    doc_tokens: dict[str, int] = field(default_factory=dict)
    worker: str = ""  # who reviewed it (node and process), for progress and tests

    def future(self) -> Future[Review]:
        """The result as the completed future the recorder takes."""
        future: Future[Review] = Future()
        if self.review is not None:
            future.set_result(self.review)
        elif self.raw is not None:
            future.set_exception(GenerationError(self.error or "the review failed", self.raw))
        else:
            future.set_exception(EvaluatorError(self.error or "the review failed"))
        return future


@runtime_checkable
class CaseExecutor(Protocol):
    """An executor whose workers open their own backends and review whole jobs (see the module docstring)."""

    def review(
        self,
        jobs: list[Job],
        work: CaseWork,
        *,
        should_stop: Callable[[], bool],
        started: Callable[[Job], None],
        finished: Callable[[Job, CaseResult], None],
    ) -> bool:
        """Review ``jobs``; ``finished`` is called in the caller's thread as each result arrives.

        Returns True if stopped (``should_stop``) before every job had started. Raises an
        EvaluatorError when no worker can review (none starts, or all have died).
        """
        ...


def _describe(info: ModelInfo) -> str:
    digest = f", sha256 {info.digest[:12]}" if info.digest else ""
    return f"{info.name} ({info.kind}, context {info.n_ctx}{digest})"
