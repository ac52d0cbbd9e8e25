"""The overnight job: review every case of a folder into the DuckDB store.

Three steps. **Plan** reads every case's documents, computes its cache key from the
documents, the model (:class:`~evaluator.backends.ModelInfo`), profile, prompts and
settings, and sets aside what is already reviewed (with that review's id) or cannot be
reviewed. **Execute** opens the backend (only if something needs reviewing) and runs the
rest on an executor (:mod:`evaluator.executors`). **Record** is the one writer: each
result is committed in its own transaction as it arrives, so re-running the same command
resumes a killed or stopped batch, and a failing case is recorded with its error while
the batch goes on.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from evaluator.backends import BackendFactory, ModelInfo
from evaluator.backends.base import ServerSlots
from evaluator.capacity import Capacity, plan_capacity
from evaluator.cases import DEFAULT_MAX_CASES, Case, check_batch_size
from evaluator.documents.read import DEFAULT_MAX_BYTES, Document, read_document
from evaluator.errors import EvaluatorError, GenerationError
from evaluator.executors import Executor, ThreadExecutor
from evaluator.grounding.profiles import DEFAULT_PROFILE, Profile, load_profile
from evaluator.offline import enforce_offline
from evaluator.remote import CaseExecutor, CaseResult, CaseWork, doc_tokens
from evaluator.review.record import Review
from evaluator.review.render import render_markdown
from evaluator.reviewer.engine import Reviewer, ReviewSettings
from evaluator.reviewer.prompts import Prompts
from evaluator.store import ReviewRecord, Store

Status = Literal["ok", "failed", "skipped", "cached"]


@dataclass(frozen=True)
class BatchOptions:
    """What to review with, and where to store it (the model comes as a backend factory)."""

    db: Path
    profile: str = DEFAULT_PROFILE
    settings: ReviewSettings = field(default_factory=ReviewSettings)
    prompts_dir: Path | None = None
    limit: int | None = None
    max_bytes: int = DEFAULT_MAX_BYTES
    max_cases: int = DEFAULT_MAX_CASES  # a larger batch is refused before anything is written
    parallel: int | None = 1  # cases decoded together; None: auto (see evaluator.capacity)


@dataclass
class CaseOutcome:
    """What happened to one case; ``review_id`` is its row in ``reviews`` (a cached case: the earlier one)."""

    case: Case
    status: Status
    message: str = ""
    review: Review | None = None
    review_id: str | None = None


@dataclass
class BatchSummary:
    """The result of a batch run."""

    run_id: str
    outcomes: list[CaseOutcome]
    seconds: float
    interrupted: bool = False

    def count(self, status: Status) -> int:
        """How many cases ended with ``status``."""
        return sum(o.status == status for o in self.outcomes)

    @property
    def tokens(self) -> int:
        """Prompt plus completion tokens of the reviews done in this run."""
        return sum(
            o.review.usage.prompt_tokens + o.review.usage.completion_tokens
            for o in self.outcomes
            if o.review and o.review.usage
        )

    @property
    def docs_per_hour(self) -> float:
        """Reviewed (ok or failed) documents per hour of this run's wall time."""
        done = self.count("ok") + self.count("failed")
        return done * 3600 / self.seconds if self.seconds > 0 else 0.0


class BatchObserver:
    """Progress callbacks; the defaults do nothing. The CLI draws a progress bar with them."""

    def planned(self, total: int, todo: int) -> None:
        """``todo`` of ``total`` cases will be reviewed (the rest are cached or skipped)."""

    def started(self, case: Case) -> None:
        """A review begins."""

    def step(self, message: str) -> None:
        """A pass within the current review begins."""

    def capacity(self, capacity: Capacity) -> None:
        """The model is about to be loaded for ``capacity.parallel`` sequences."""

    def finished(self, outcome: CaseOutcome) -> None:
        """A case is done, whatever its status."""


@dataclass
class Job:
    """One case to review: its documents read, its cache key computed."""

    case: Case
    requirements: Document
    design: Document
    cache_key: str


@dataclass
class Plan:
    """What a run will do: ``jobs`` to review, and the cases already settled (cached, skipped, unreadable)."""

    jobs: list[Job]
    settled: list[CaseOutcome]


@dataclass(frozen=True)
class Setup:
    """The profile, prompts and model of a run, and what identifies them (run row, cache keys)."""

    profile: Profile
    prompts: Prompts
    info: ModelInfo
    settings: ReviewSettings

    @classmethod
    def load(cls, options: BatchOptions, info: ModelInfo) -> Setup:
        """Load and check the profile and prompts (bad ones fail before anything is written)."""
        profile = load_profile(options.profile, options.prompts_dir)
        prompts = Prompts(options.prompts_dir)
        prompts.render("system.md.j2", profile=profile)
        return cls(profile, prompts, info, options.settings)

    @property
    def prompt_hash(self) -> str:
        """The prompt templates' digest."""
        return self.prompts.digest()

    def run_meta(self) -> dict[str, Any]:
        """The ``runs`` row's description of what this run reviews with."""
        return {
            "model_name": self.info.name,
            "model_sha256": self.info.digest,
            "backend": self.info.kind,
            "backend_version": self.info.version,
            "profile": self.profile.name,
            "prompt_hash": self.prompt_hash,
            "settings": {"review": asdict(self.settings), "n_ctx": self.info.n_ctx},
        }

    def fingerprint(self) -> str:
        """Everything but the documents that a cache key covers (a runtime upgrade alone does not count)."""
        meta = {k: v for k, v in self.run_meta().items() if k != "backend_version"}
        return _hash(json.dumps({**meta, "profile_data": self.profile.model_dump()}, sort_keys=True))


def run_batch(
    cases: list[Case],
    options: BatchOptions,
    *,
    backend: BackendFactory,
    source: str = "",
    observer: BatchObserver | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    executor: Executor | CaseExecutor | None = None,
) -> BatchSummary:
    """Review ``cases`` into the store at ``options.db`` with models ``backend`` opens; see the module docstring.

    ``executor``: threads of this process by default; a :class:`~evaluator.remote.CaseExecutor`
    (Ray) opens its own backends elsewhere, and ``backend`` then only names the model for
    the cache keys (its workers must have the same one).

    Raises an EvaluatorError before anything is written for a batch that is too large, a bad
    profile or prompts, or a model that cannot be found; one case's failure never raises.
    """
    enforce_offline()
    check_batch_size(cases, options.max_cases)
    observer = observer or BatchObserver()
    started = time.perf_counter()
    setup = Setup.load(options, backend.model_info())
    with Store(options.db) as store:
        recorder = Recorder(store, store.begin_run("batch", source, **setup.run_meta()), setup.prompt_hash, observer)
        plan = plan_batch(cases, options, setup.fingerprint(), store)
        for outcome in plan.settled:
            recorder.settled(outcome)
        recorder.planned(len(cases), len(plan.jobs))
        observer.planned(len(cases), len(plan.jobs))
        interrupted = False
        try:
            if plan.jobs:
                run = _Execution(setup, options, recorder, observer)
                interrupted = run.execute(plan.jobs, backend, executor or ThreadExecutor(), should_stop)
        except BaseException:
            interrupted = True
            raise
        finally:
            recorder.finish(len(cases), interrupted)
    return BatchSummary(recorder.run_id, recorder.outcomes, time.perf_counter() - started, interrupted)


def plan_batch(cases: list[Case], options: BatchOptions, fingerprint: str, store: Store) -> Plan:
    """Read every case's documents and look its cache key up; return what must be reviewed (up to the limit)."""
    plan = Plan([], [])
    for case in cases:
        if case.requirements is None:
            missing = "no requirements.md or docs/requirements.md (nor .docx, .pdf, .html, .rst, .adoc) found for it"
            plan.settled.append(CaseOutcome(case, "skipped", missing))
            continue
        try:
            requirements = read_document(case.requirements, role="requirements", max_bytes=options.max_bytes)
            design = read_document(case.design, role="design", max_bytes=options.max_bytes)
        except EvaluatorError as exc:
            plan.settled.append(CaseOutcome(case, "failed", str(exc)))
            continue
        # The converter joins the key: a new markitdown may read the same .docx differently.
        converters = "".join(f"\0{d.converter}" for d in (design, requirements) if d.converter)
        key = _hash(design.sha256 + requirements.sha256 + fingerprint + converters)
        review_id = store.cached_review(key)
        if review_id is None:
            plan.jobs.append(Job(case, requirements, design, key))
        else:
            message = "already reviewed with the same inputs and settings"
            plan.settled.append(CaseOutcome(case, "cached", message, review_id=review_id))
    if options.limit is not None:
        del plan.jobs[options.limit :]
    return plan


@dataclass
class _Execution:
    """Opens the backend for the planned jobs and runs them on an executor."""

    setup: Setup
    options: BatchOptions
    recorder: Recorder
    observer: BatchObserver

    def execute(
        self,
        jobs: list[Job],
        factory: BackendFactory,
        executor: Executor | CaseExecutor,
        should_stop: Callable[[], bool],
    ) -> bool:
        """Review ``jobs``; True if stopped before the end."""
        if isinstance(executor, CaseExecutor):
            return self._remote(jobs, executor, should_stop)
        parallel = self._plan_capacity(factory, len(jobs))
        with factory.open(parallel) as backend:  # loaded only now: a fully cached batch never loads it
            # Pass-level progress ("part 2 of 3") only makes sense for one case at a time.
            step = self.observer.step if parallel == 1 else None
            reviewer = Reviewer(backend, self.setup.profile, self.setup.prompts, self.setup.settings, progress=step)
            return executor.run(
                jobs,
                lambda job: reviewer.review(job.requirements, job.design),
                parallel=parallel,
                should_stop=should_stop,
                started=lambda job: self.observer.started(job.case),
                finished=lambda job, future: self.recorder.reviewed(job, future, doc_tokens(job, reviewer.count_text)),
                cancel=backend.close,  # fails any generation still in flight, so the workers return at once
            )

    def _remote(self, jobs: list[Job], executor: CaseExecutor, should_stop: Callable[[], bool]) -> bool:
        """Hand the jobs to workers that open their own backends; record each result as it arrives."""
        setup = self.setup
        work = CaseWork(
            setup.profile,
            self.options.prompts_dir,
            setup.prompt_hash,
            setup.settings,
            setup.info,
            self.options.parallel,
        )

        def finished(job: Job, result: CaseResult) -> None:
            self.recorder.reviewed(job, result.future(), result.doc_tokens)

        def started(job: Job) -> None:
            self.observer.started(job.case)

        return executor.review(jobs, work, should_stop=should_stop, started=started, finished=finished)

    def _plan_capacity(self, factory: BackendFactory, jobs: int) -> int:
        """Cases to decode together: the option, or what fits (auto), told to the observer."""
        if self.options.parallel == 1:
            return 1
        if self.options.parallel is None and isinstance(factory, ServerSlots):  # servers: as many as their slots
            capacity = Capacity(max(1, min(factory.slots(), jobs)), self.setup.info.n_ctx, 0, 0, None)
        else:
            capacity = plan_capacity(self.options.parallel, factory.memory(), self.setup.info.n_ctx, jobs)
        self.observer.capacity(capacity)
        return capacity.parallel


class Recorder:
    """The run's one writer: every outcome is stored (and told to the observer) as it arrives."""

    def __init__(self, store: Store, run_id: str, prompt_hash: str, observer: BatchObserver) -> None:
        self.store, self.run_id, self.prompt_hash, self.observer = store, run_id, prompt_hash, observer
        self.outcomes: list[CaseOutcome] = []

    def settled(self, outcome: CaseOutcome) -> None:
        """A case settled while planning; an unreadable one gets a failed review row."""
        if outcome.status == "failed":
            record = ReviewRecord(self.run_id, outcome.case.key, status="failed", error=outcome.message)
            record.prompt_hash = self.prompt_hash
            record.design_path, record.requirements_path = str(outcome.case.design), str(outcome.case.requirements)
            outcome.review_id = self.store.save(record)
        self._add(outcome)

    def planned(self, total: int, jobs: int) -> None:
        """Record the plan on the run row, so that a reader can tell what remains while it runs."""
        failed = sum(o.status == "failed" for o in self.outcomes)  # unreadable: a failed row each, already
        self.store.planned(self.run_id, total=total, skipped=total - jobs - failed)

    def reviewed(self, job: Job, future: Future[Review], doc_tokens: dict[str, int]) -> None:
        """Store the review (or the failure) ``future`` holds for ``job``; ``doc_tokens``: tokens by document sha256."""
        record = ReviewRecord(
            self.run_id,
            job.case.key,
            cache_key=job.cache_key,
            design=job.design,
            requirements=job.requirements,
            prompt_hash=self.prompt_hash,
            doc_tokens=doc_tokens,
        )
        try:
            review = future.result()
        except EvaluatorError as exc:
            record.status, record.error = "failed", str(exc)
            record.raw_output = exc.raw if isinstance(exc, GenerationError) else None
            record.cache_key = None  # a failure is retried on the next run
            self._add(CaseOutcome(job.case, "failed", str(exc), review_id=self.store.save(record)))
            return
        record.review, record.markdown = review, render_markdown(review)
        self._add(CaseOutcome(job.case, "ok", review=review, review_id=self.store.save(record)))

    def finish(self, total: int, interrupted: bool) -> None:
        """Close the run row with its status and counts."""
        counts = {s: sum(o.status == s for o in self.outcomes) for s in ("ok", "failed")}
        self.store.finish_run(
            self.run_id,
            "interrupted" if interrupted else "completed",
            total=total,
            ok=counts["ok"],
            failed=counts["failed"],
            skipped=len(self.outcomes) - counts["ok"] - counts["failed"],
        )

    def _add(self, outcome: CaseOutcome) -> None:
        self.outcomes.append(outcome)
        self.observer.finished(outcome)


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
