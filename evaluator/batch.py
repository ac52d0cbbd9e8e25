"""The overnight job: review every case of a folder into the DuckDB store.

The model is loaded once, only if something needs reviewing. Each review is committed in
its own transaction; a case already reviewed with the same inputs, model, profile, prompts
and settings is skipped, so re-running the same command resumes a killed or stopped batch.
One failing case is recorded with its error and the batch goes on.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Literal

from evaluator.backends import ModelOptions, open_backend
from evaluator.capacity import Capacity, plan_capacity
from evaluator.cases import DEFAULT_MAX_CASES, Case, check_batch_size
from evaluator.documents import DEFAULT_MAX_BYTES, Document, read_document
from evaluator.errors import EvaluatorError, GenerationError
from evaluator.models import file_sha256
from evaluator.offline import enforce_offline
from evaluator.profiles import DEFAULT_PROFILE, Profile, load_profile
from evaluator.prompts import Prompts
from evaluator.render import render_markdown
from evaluator.review import Review
from evaluator.reviewer import Reviewer, ReviewSettings
from evaluator.store import ReviewRecord, Store

Status = Literal["ok", "failed", "skipped", "cached"]


@dataclass(frozen=True)
class BatchOptions:
    """What to review with, and where to store it."""

    db: Path
    profile: str = DEFAULT_PROFILE
    model: ModelOptions = field(default_factory=ModelOptions)
    settings: ReviewSettings = field(default_factory=ReviewSettings)
    prompts_dir: Path | None = None
    limit: int | None = None
    max_bytes: int = DEFAULT_MAX_BYTES
    max_cases: int = DEFAULT_MAX_CASES  # a larger batch is refused before anything is written
    parallel: int | None = 1  # cases decoded together; None: auto (see evaluator.capacity)


@dataclass
class CaseOutcome:
    """What happened to one case."""

    case: Case
    status: Status
    message: str = ""
    review: Review | None = None


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
class _Todo:
    case: Case
    requirements: Document
    design: Document
    cache_key: str


def run_batch(
    cases: list[Case],
    options: BatchOptions,
    *,
    source: str = "",
    observer: BatchObserver | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> BatchSummary:
    """Review ``cases`` into the store at ``options.db``; see the module docstring."""
    enforce_offline()
    check_batch_size(cases, options.max_cases)
    observer = observer or BatchObserver()
    started = time.perf_counter()
    profile = load_profile(options.profile, options.prompts_dir)
    prompts = Prompts(options.prompts_dir)
    prompts.render("system.md.j2", profile=profile)
    model_file = options.model.resolve()
    n_ctx = options.model.n_ctx or model_file.n_ctx
    settings = {"review": asdict(options.settings), "n_ctx": n_ctx}
    prompt_hash = prompts.digest()
    meta: dict[str, object] = {
        "model_name": model_file.name,
        "model_sha256": file_sha256(model_file.path.resolve()),
        "profile": profile.name,
        "prompt_hash": prompt_hash,
        "settings": settings,
    }
    fingerprint = _hash(json.dumps({**meta, "profile_data": profile.model_dump()}, sort_keys=True))
    outcomes: list[CaseOutcome] = []
    with Store(options.db) as store:
        run_id = store.begin_run("batch", source, **meta)
        todo = _plan(cases, options, store, run_id, fingerprint, prompt_hash, outcomes, observer)
        observer.planned(len(cases), len(todo))
        interrupted = False
        try:
            if todo:
                model = _with_parallel(options, model_file.path, n_ctx, len(todo), observer)
                run = _Run(profile, prompts, options.settings, store, run_id, prompt_hash, observer, outcomes)
                interrupted = run.review_all(todo, model, should_stop)
        except BaseException:
            interrupted = True
            raise
        finally:
            counts = {s: sum(o.status == s for o in outcomes) for s in ("ok", "failed")}
            store.finish_run(
                run_id,
                "interrupted" if interrupted else "completed",
                total=len(cases),
                ok=counts["ok"],
                failed=counts["failed"],
                skipped=len(outcomes) - counts["ok"] - counts["failed"],
            )
    return BatchSummary(run_id, outcomes, time.perf_counter() - started, interrupted)


def _plan(
    cases: list[Case],
    options: BatchOptions,
    store: Store,
    run_id: str,
    fingerprint: str,
    prompt_hash: str,
    outcomes: list[CaseOutcome],
    observer: BatchObserver,
) -> list[_Todo]:
    """Read every case's documents; record what cannot be reviewed; return what must be."""
    todo: list[_Todo] = []
    for case in cases:
        if case.requirements is None:
            outcome = CaseOutcome(case, "skipped", "no requirements.md or docs/requirements.md found for it")
        else:
            try:
                requirements = read_document(case.requirements, role="requirements", max_bytes=options.max_bytes)
                design = read_document(case.design, role="design", max_bytes=options.max_bytes)
            except EvaluatorError as exc:
                record = ReviewRecord(run_id, case.key, status="failed", error=str(exc), prompt_hash=prompt_hash)
                record.design_path, record.requirements_path = str(case.design), str(case.requirements)
                store.save(record)
                outcome = CaseOutcome(case, "failed", str(exc))
            else:
                key = _hash(design.sha256 + requirements.sha256 + fingerprint)
                if not store.has_review(key):
                    todo.append(_Todo(case, requirements, design, key))
                    continue
                outcome = CaseOutcome(case, "cached", "already reviewed with the same inputs and settings")
        outcomes.append(outcome)
        observer.finished(outcome)
    return todo[: options.limit] if options.limit is not None else todo


def _with_parallel(
    options: BatchOptions, model_path: Path, n_ctx: int, cases: int, observer: BatchObserver
) -> ModelOptions:
    if options.parallel == 1:
        return replace(options.model, parallel=1)
    capacity = plan_capacity(options.parallel, model_path, n_ctx, cases)
    observer.capacity(capacity)
    return replace(options.model, parallel=capacity.parallel)


@dataclass
class _Run:
    """Reviews the planned cases of one run and stores each result as it arrives."""

    profile: Profile
    prompts: Prompts
    settings: ReviewSettings
    store: Store
    run_id: str
    prompt_hash: str
    observer: BatchObserver
    outcomes: list[CaseOutcome]

    def review_all(self, todo: list[_Todo], model: ModelOptions, should_stop: Callable[[], bool]) -> bool:
        """Review ``todo``, ``model.parallel`` cases at a time; True if stopped before the end.

        Each case runs in a worker thread that waits on the backend, which decodes the
        cases in flight together; results are stored here, in the one thread that owns the
        store. A stop lets the cases in flight finish; an exception ends them at once.
        """
        backend = open_backend(model)  # loaded only now: a fully cached batch never loads it
        # Pass-level progress ("part 2 of 3") only makes sense for one case at a time.
        step = self.observer.step if model.parallel == 1 else None
        reviewer = Reviewer(backend, self.profile, self.prompts, self.settings, progress=step)
        pending = iter(todo)
        running: dict[Future[Review], _Todo] = {}
        stopped = False
        pool = ThreadPoolExecutor(max_workers=model.parallel, thread_name_prefix="review")
        try:
            while True:
                while not stopped and len(running) < model.parallel and (item := next(pending, None)):
                    self.observer.started(item.case)
                    running[pool.submit(reviewer.review, item.requirements, item.design)] = item
                    stopped = should_stop()
                if not running:
                    return next(pending, None) is not None  # cases left: stopped before the end
                done, _ = wait(running, timeout=0.25, return_when=FIRST_COMPLETED)
                for future in done:
                    outcome = self._store(running.pop(future), future, reviewer)
                    self.outcomes.append(outcome)
                    self.observer.finished(outcome)
                stopped = stopped or should_stop()
        finally:
            backend.close()  # fails any generation still in flight, so the workers return at once
            pool.shutdown(wait=True, cancel_futures=True)

    def _store(self, item: _Todo, future: Future[Review], reviewer: Reviewer) -> CaseOutcome:
        record = ReviewRecord(
            self.run_id,
            item.case.key,
            cache_key=item.cache_key,
            design=item.design,
            requirements=item.requirements,
            prompt_hash=self.prompt_hash,
            doc_tokens={d.sha256: reviewer.count_text(d.text) for d in (item.design, item.requirements)},
        )
        try:
            review = future.result()
        except EvaluatorError as exc:
            record.status, record.error = "failed", str(exc)
            record.raw_output = exc.raw if isinstance(exc, GenerationError) else None
            record.cache_key = None  # a failure is retried on the next run
            self.store.save(record)
            return CaseOutcome(item.case, "failed", str(exc))
        record.review, record.markdown = review, render_markdown(review)
        self.store.save(record)
        return CaseOutcome(item.case, "ok", review=review)


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
