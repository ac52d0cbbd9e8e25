"""How a batch's planned jobs are run: the one executor protocol, and the thread executor.

An executor opens its own backend (or its workers do), reviews each job and hands each
result back to the caller's thread, which is the only one that writes the store. Both
executors follow :class:`Executor`, so the run never asks which one it has:

- :class:`ThreadExecutor` reviews on threads of this process that share one backend opened
  from its factory (the decode engine batches their generations);
- :class:`~evaluator.batch.ray_executor.RayExecutor` reviews on Ray actors, each of which
  opens its own backend on its node.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Protocol

from evaluator.backends.base import BackendFactory, ServerSlots
from evaluator.batch.capacity import Capacity, plan_capacity
from evaluator.batch.plan import BatchObserver, Job
from evaluator.batch.workers import CaseResult, CaseWork, doc_tokens
from evaluator.review.record import Review
from evaluator.reviewer.engine import Reviewer


class Executor(Protocol):
    """Reviews a batch's jobs with backends it opens itself; see the module docstring."""

    def review(
        self,
        jobs: list[Job],
        work: CaseWork,
        *,
        observer: BatchObserver,
        should_stop: Callable[[], bool],
        finished: Callable[[Job, CaseResult], None],
    ) -> bool:
        """Review ``jobs``; ``finished`` is called in the caller's thread as each result arrives.

        ``observer`` hears of each job as it starts (and, where the executor knows them, of
        its capacity and of the passes of a review). A stop (``should_stop``) lets the jobs in
        flight finish and starts no new one. Returns True if stopped before every job had
        started. Raises an EvaluatorError when no backend can be opened or no worker can review.
        """
        ...


@dataclass
class ThreadExecutor:
    """Reviews on ``parallel`` threads of this process over one backend it opens from ``factory``."""

    factory: BackendFactory
    poll_s: float = 0.25  # how often ``should_stop`` is asked while waiting for a result

    def review(
        self,
        jobs: list[Job],
        work: CaseWork,
        *,
        observer: BatchObserver,
        should_stop: Callable[[], bool],
        finished: Callable[[Job, CaseResult], None],
    ) -> bool:
        """Open the backend (only now: a fully cached batch never loads it) and review ``jobs``.

        The backend is opened for as many cases together as fit (:meth:`_parallel`); see :class:`Executor`.
        """
        parallel = self._parallel(work, len(jobs), observer)
        # Pass-level progress ("part 2 of 3") only makes sense for one case at a time.
        step = observer.step if parallel == 1 else None
        with work.reviewer(self.factory, parallel, step) as reviewer:
            return self._run(iter(jobs), reviewer, parallel, observer, should_stop, finished)

    def _parallel(self, work: CaseWork, jobs: int, observer: BatchObserver) -> int:
        """Cases to decode together: the option, or what fits (auto), told to the observer."""
        if work.parallel == 1:
            return 1
        if work.parallel is None and isinstance(self.factory, ServerSlots):  # servers: as many as their slots
            capacity = Capacity(max(1, min(self.factory.slots(), jobs)), work.info.n_ctx, 0, 0, None)
        else:
            capacity = plan_capacity(work.parallel, self.factory.memory(), work.info.n_ctx, jobs)
        observer.capacity(capacity)
        return capacity.parallel

    def _run(
        self,
        pending: Iterator[Job],
        reviewer: Reviewer,
        parallel: int,
        observer: BatchObserver,
        should_stop: Callable[[], bool],
        finished: Callable[[Job, CaseResult], None],
    ) -> bool:
        """Review on the threads and call ``finished`` here as each review completes.

        An exception (a bug, a second Ctrl-C) closes the backend first, which fails any
        generation still in flight so the threads return at once, then leaves.
        """
        running: dict[Future[Review], Job] = {}
        stopped = False
        pool = ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="review")
        try:
            while True:
                while not stopped and len(running) < parallel and (job := next(pending, None)) is not None:
                    observer.started(job.case)
                    running[pool.submit(reviewer.review, job.requirements, job.design)] = job
                    stopped = should_stop()
                if not running:
                    return next(pending, None) is not None  # jobs left: stopped before the end
                done, _ = wait(running, timeout=self.poll_s, return_when=FIRST_COMPLETED)
                for future in done:
                    job = running.pop(future)
                    finished(job, CaseResult.of(future.result, doc_tokens(job, reviewer.count_text)))
                stopped = stopped or should_stop()
        except BaseException:
            reviewer.backend.close()
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
