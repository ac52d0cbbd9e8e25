"""The overnight job: review every case of a folder into the DuckDB store.

Three steps. **Plan** (:mod:`.plan`) reads every case's documents, computes its cache key
and sets aside what is already reviewed or cannot be reviewed. **Execute** hands the rest
to an executor (:mod:`.executors`: threads by default, or Ray), which opens its backend
only now, so a fully cached batch never loads a model. **Record** is the one writer: each
result is committed in its own transaction as it arrives, so re-running the same command
resumes a killed or stopped batch, and a failing case is recorded with its error while the
batch goes on.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from evaluator.backends.base import BackendFactory
from evaluator.batch.cases import Case, check_batch_size
from evaluator.batch.executors import Executor, ThreadExecutor
from evaluator.batch.plan import BatchObserver, BatchOptions, BatchSummary, CaseOutcome, Job, Setup, plan_batch
from evaluator.batch.workers import CaseResult, CaseWork
from evaluator.offline import enforce_offline
from evaluator.review.render import render_markdown
from evaluator.store import ReviewRecord, Store


def run_batch(
    cases: list[Case],
    options: BatchOptions,
    *,
    backend: BackendFactory,
    source: str = "",
    observer: BatchObserver | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    executor: Executor | None = None,
) -> BatchSummary:
    """Review ``cases`` into the store at ``options.db`` with models ``backend`` opens; see the module docstring.

    ``executor``: threads of this process over ``backend`` by default. Another executor
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
    with Store(options.db, wait_s=options.lock_timeout, on_wait=observer.waiting) as store:
        recorder = Recorder(store, store.begin_run("batch", source, **setup.run_meta()), setup.prompt_hash, observer)
        plan = plan_batch(cases, options, setup.fingerprint(), store)
        for outcome in plan.settled:
            recorder.settled(outcome)
        recorder.planned(len(cases), len(plan.jobs))
        observer.planned(len(cases), len(plan.jobs))
        interrupted = False
        try:
            if plan.jobs:
                work = CaseWork(setup.review, setup.prompt_hash, setup.info, options.parallel)
                interrupted = (executor or ThreadExecutor(backend)).review(
                    plan.jobs, work, observer=observer, should_stop=should_stop, finished=recorder.reviewed
                )
        except BaseException:
            interrupted = True
            raise
        finally:
            recorder.finish(len(cases), interrupted)
    return BatchSummary(recorder.run_id, recorder.outcomes, time.perf_counter() - started, interrupted)


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

    def reviewed(self, job: Job, result: CaseResult) -> None:
        """Store the review (or the failure) a worker made of ``job``, with its documents' tokens."""
        record = ReviewRecord(
            self.run_id,
            job.case.key,
            cache_key=job.cache_key,
            design=job.design,
            requirements=job.requirements,
            prompt_hash=self.prompt_hash,
            doc_tokens=result.doc_tokens,
        )
        review = result.review
        if review is None:
            error = result.error or "the review failed"
            record.status, record.error, record.raw_output = "failed", error, result.raw
            record.cache_key = None  # a failure is retried on the next run
            self._add(CaseOutcome(job.case, "failed", error, review_id=self.store.save(record)))
            return
        maps = {"design": job.design.source_map, "requirements": job.requirements.source_map}
        record.review, record.markdown = review, render_markdown(review, **maps)
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
