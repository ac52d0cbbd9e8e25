"""What an executor's workers do with a batch's jobs, wherever they run.

Every executor's workers open their own backend (:mod:`.executors`: threads of this process
sharing one; :mod:`.ray_executor`: one per actor, on any node) and build their reviewer from a
:class:`CaseWork`: what the batch decided (the :class:`~evaluator.reviewer.setup.ReviewSetup`)
and what identifies it (the model and prompt digests of the cache keys). A backend whose
model, or prompts whose templates, differ from the plan's are refused before any review:
their reviews would be stored under cache keys that do not describe them.

A worker returns a :class:`CaseResult` (plain data, picklable) for each job; the run's one
writer (:class:`~evaluator.batch.run.Recorder`) stores it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from evaluator.backends.base import BackendFactory, ModelInfo
from evaluator.batch.capacity import plan_capacity
from evaluator.batch.plan import Job
from evaluator.errors import EvaluatorError, GenerationError, ModelError, PromptError
from evaluator.review.record import Review
from evaluator.reviewer.engine import Reviewer
from evaluator.reviewer.setup import ReviewSetup

# Returns the backend factory a worker opens; picklable for a remote worker
# (``functools.partial(backend_factory, ModelOptions(...))`` or any importable function).
Opener = Callable[[], BackendFactory]


@dataclass(frozen=True)
class CaseWork:
    """Everything a worker needs to review jobs as the plan says (picklable).

    ``parallel``: cases one worker decodes together (None: what fits its machine).
    ``info`` and ``prompt_hash``: the plan's model and prompts, which the cache keys cover.
    """

    setup: ReviewSetup
    prompt_hash: str
    info: ModelInfo
    parallel: int | None = 1

    def slots(self, factory: BackendFactory, cases: int) -> int:
        """Cases one remote worker decodes together over ``factory``, for up to ``cases`` cases."""
        if self.parallel == 1:
            return 1
        return plan_capacity(self.parallel, factory.memory(), self.info.n_ctx, max(1, cases)).parallel

    @contextmanager
    def reviewer(
        self, factory: BackendFactory, parallel: int, progress: Callable[[str], None] | None = None
    ) -> Iterator[Reviewer]:
        """Open ``factory`` with ``parallel`` slots and yield a reviewer over it; closed when the block ends.

        Raises :class:`ModelError` or :class:`PromptError` when the model or prompts here are
        not the plan's, and whatever ``factory.open`` raises.
        """
        info = factory.model_info()
        if (info.name, info.digest, info.n_ctx, info.kind) != (
            self.info.name,
            self.info.digest,
            self.info.n_ctx,
            self.info.kind,
        ):
            raise ModelError(f"a worker has model {_describe(info)}, the batch was planned for {_describe(self.info)}")
        if self.setup.prompt_hash != self.prompt_hash:
            raise PromptError(
                "a worker's prompt templates differ from the batch's: install the same version everywhere"
            )
        with factory.open(parallel) as backend:
            yield self.setup.reviewer(backend, progress)


@dataclass
class CaseResult:
    """What a worker made of one job: the review, or the error (and the raw output), and the documents' tokens."""

    review: Review | None
    error: str | None = None
    raw: str | None = None
    doc_tokens: dict[str, int] = field(default_factory=dict)
    worker: str = ""  # who reviewed it (node and process), for progress and tests

    @classmethod
    def of(cls, review: Callable[[], Review], doc_tokens: dict[str, int], worker: str = "") -> CaseResult:
        """The result of calling ``review``: an expected failure (EvaluatorError) becomes part of it, a bug raises."""
        try:
            return cls(review(), doc_tokens=doc_tokens, worker=worker)
        except GenerationError as exc:
            return cls(None, str(exc), exc.raw, doc_tokens, worker)
        except EvaluatorError as exc:
            return cls(None, str(exc), None, doc_tokens, worker)


def review_job(reviewer: Reviewer, job: Job, worker: str = "") -> CaseResult:
    """Review one job where the worker runs (see :meth:`CaseResult.of`)."""
    tokens = doc_tokens(job, reviewer.count_text)
    return CaseResult.of(lambda: reviewer.review(job.requirements, job.design), tokens, worker)


def doc_tokens(job: Job, count_text: Callable[[str], int]) -> dict[str, int]:
    """The tokens of the job's two documents, by sha256, as ``count_text`` counts them."""
    return {d.sha256: count_text(d.text) for d in (job.design, job.requirements)}


def _describe(info: ModelInfo) -> str:
    digest = f", sha256 {info.digest[:12]}" if info.digest else ""
    return f"{info.name} ({info.kind}, context {info.n_ctx}{digest})"
