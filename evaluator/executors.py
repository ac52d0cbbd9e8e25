"""How a batch's planned cases are run: an executor hands each job to a worker and each
result back to the caller's thread, which is the only one that writes the store.

:class:`ThreadExecutor` runs the jobs on threads of this process that all share one
backend (the decode engine batches their generations). A distributed executor (Ray) is
a second class with the same :meth:`run`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Protocol, TypeVar

J = TypeVar("J")
R = TypeVar("R")


class Executor(Protocol):
    """Runs ``work`` over jobs, ``parallel`` at a time; see :meth:`ThreadExecutor.run`."""

    def run(
        self,
        jobs: Iterable[J],
        work: Callable[[J], R],
        *,
        parallel: int,
        should_stop: Callable[[], bool],
        started: Callable[[J], None],
        finished: Callable[[J, Future[R]], None],
        cancel: Callable[[], None],
    ) -> bool:
        """Run the jobs; True if stopped (``should_stop``) before every job had started."""
        ...


class ThreadExecutor:
    """``parallel`` worker threads in this process; results are handed back in the calling thread."""

    poll_s = 0.25  # how often ``should_stop`` is asked while waiting for a result

    def run(
        self,
        jobs: Iterable[J],
        work: Callable[[J], R],
        *,
        parallel: int,
        should_stop: Callable[[], bool],
        started: Callable[[J], None],
        finished: Callable[[J, Future[R]], None],
        cancel: Callable[[], None],
    ) -> bool:
        """Run ``work(job)`` for each job and call ``finished(job, future)`` here as each completes.

        A stop lets the jobs in flight finish and starts no new one. An exception (a bug, a
        second Ctrl-C) calls ``cancel`` first, which must make the running ``work`` calls
        return at once (the batch closes the backend), then leaves.
        """
        pending = iter(jobs)
        running: dict[Future[R], J] = {}
        stopped = False
        pool = ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="review")
        try:
            while True:
                while not stopped and len(running) < parallel and (job := next(pending, None)) is not None:
                    started(job)
                    running[pool.submit(work, job)] = job
                    stopped = should_stop()
                if not running:
                    return next(pending, None) is not None  # jobs left: stopped before the end
                done, _ = wait(running, timeout=self.poll_s, return_when=FIRST_COMPLETED)
                for future in done:
                    finished(running.pop(future), future)
                stopped = stopped or should_stop()
        except BaseException:
            cancel()
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
