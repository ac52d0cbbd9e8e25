"""The batch on a Ray cluster: actors open their own backends, the driver records.

Each actor opens one backend through the registry (the opener is picklable, see
:mod:`evaluator.batch.workers`), as the thread executor opens its own: the in-process model
on its node, with that node's threads and parallel slots, or that node's own server. The
driver hands every actor the cases of one requirements group at a time, back to back (the
KV cache keeps their shared prefix); a group larger than an equal share of the batch is
split so that no actor idles while one works through it. The driver records each result
as ``ray.wait`` delivers it, through the batch's one writer.

Faults: an actor that dies is restarted by Ray and its in-flight cases retried, at most
:data:`MAX_RESTARTS` times; after that each of them is recorded as failed with the reason,
and the dead actor's queued cases go to the others. An exception in the driver (a second
Ctrl-C) cancels what is in flight and kills the actors: nothing unrecorded is in the
store, so re-running resumes. A stop (first Ctrl-C) starts nothing new and lets what is in
flight finish, as the thread executor does.

Without an address, a local Ray instance is started for the run and stopped after it,
on 127.0.0.1 only, dashboard off; a watchdog (:mod:`.ray_reaper`) ends its processes when the
driver dies without stopping it (SIGKILL). Usage statistics are always off.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from evaluator.batch.plan import BatchObserver, Job
from evaluator.batch.ray_reaper import reaped
from evaluator.batch.workers import CaseResult, CaseWork, Opener, review_job
from evaluator.errors import ClusterError, EvaluatorError

MAX_RESTARTS = 2  # per actor, and retries per in-flight case: a case is tried at most 3 times
_AUTO_SLOTS = 8  # the most parallel slots `auto` plans for (evaluator.batch.capacity)


def import_ray(local: bool = True) -> ModuleType:
    """Import Ray with usage statistics off; raise :class:`ClusterError` naming the extra when it is missing.

    ``local``: a local instance will be started, so Ray must pick 127.0.0.1 for it (set
    before the first import: Ray reads it once).
    """
    # Both are read by Ray's own processes too, which inherit this environment.
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    if local and "ray" not in sys.modules:
        # Off, Ray takes 127.0.0.1 as the node address instead of asking the OS for its
        # route to a public address (a UDP socket "connected" to 8.8.8.8).
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    try:
        import ray
    except ImportError:
        raise ClusterError("Ray is not installed: pip install 'evaluator[ray]'") from None
    return ray


class CaseWorker:
    """The actor's body: one opened backend, reviewing the jobs it is handed (see the module docstring)."""

    def __init__(self, opener: Opener, work: CaseWork, cases: int) -> None:
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self._stack = ExitStack()
        self._error: str | None = None
        self._slots = 0
        try:
            factory = opener()
            slots = work.slots(factory, cases)
            self._reviewer, self._slots = self._stack.enter_context(work.reviewer(factory, slots)), slots
        except EvaluatorError as exc:  # told to the driver by ready(): a restart would fail the same way
            self._error = str(exc)

    def ready(self) -> tuple[str | None, int, str]:
        """(the error that kept the backend from opening, or None; its parallel slots; this worker's name)."""
        return self._error, self._slots, self.name

    def review(self, job: Job) -> CaseResult:
        """Review one job."""
        return review_job(self._reviewer, job, self.name)


@dataclass(eq=False)
class _Actor:
    handle: Any
    slots: int
    name: str
    group: deque[Job] = field(default_factory=deque)
    busy: int = 0
    alive: bool = True


@dataclass
class RayExecutor:
    """Reviews a batch's jobs on Ray actors; see the module docstring.

    ``opener``: returns the backend factory each actor opens (picklable: it travels to the
    nodes). ``address``: an existing cluster's (``host:port`` or ``auto``); None starts a
    local instance with ``workers`` CPUs. ``workers``: actors (None: one per alive node).
    """

    opener: Opener
    address: str | None = None
    workers: int | None = None
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
        """Review ``jobs`` on actors; see :class:`evaluator.batch.executors.Executor`."""
        ray = import_ray(local=self.address is None)
        with self._cluster(ray):
            actors = self._start(ray, work, len(jobs))
            dispatch = _Dispatch(ray, actors, jobs, lambda job: observer.started(job.case), finished)
            try:
                return dispatch.run(should_stop, self.poll_s)
            except BaseException:
                dispatch.cancel()
                raise
            finally:
                for actor in actors:
                    ray.kill(actor.handle, no_restart=True)

    def check_address(self, timeout_s: float = 5.0) -> None:
        """Raise :class:`ClusterError` unless something answers at ``address`` (``[ray://]host[:port]``).

        ``ray.init`` retries an address where nothing listens for as long as it runs; this
        refuses it within ``timeout_s`` seconds. ``auto`` and a local instance are not checked.
        """
        if not self.address or self.address == "auto":
            return
        host, _, port = self.address.removeprefix("ray://").rpartition(":")
        if not host:
            host, port = port, "6379"  # Ray's default GCS port
        try:
            socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s).close()
        except (OSError, ValueError) as exc:
            raise ClusterError(
                f"no Ray cluster answers at {self.address} ({exc}): start one there "
                "(ray start --head --port=6379) or fix --ray-address"
            ) from None

    @contextmanager
    def _cluster(self, ray: ModuleType) -> Iterator[None]:
        """Connect to the cluster, or start a local one, for the run; one already connected is left as it is."""
        if ray.is_initialized():  # a program (or test session) that connected itself
            yield
            return
        quiet: dict[str, Any] = {"log_to_driver": False, "logging_level": logging.WARNING}
        self.check_address()
        with ExitStack() as stack:
            try:
                if self.address:
                    ray.init(address=self.address, **quiet)
                else:  # its processes go with this one, even when it is killed (see .ray_reaper)
                    stack.enter_context(reaped())
                    ray.init(num_cpus=self.workers or 1, include_dashboard=False, _node_ip_address="127.0.0.1", **quiet)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                if self.address == "auto":
                    raise ClusterError(
                        "no running Ray cluster found for --ray-address auto: start one (ray start --head) "
                        "or leave --ray-address out to run a local one"
                    ) from None
                where = self.address or "a local instance"
                raise ClusterError(f"cannot start Ray on {where}: {_line(exc)}") from None
            try:
                yield
            finally:
                ray.shutdown()

    def _start(self, ray: ModuleType, work: CaseWork, cases: int) -> list[_Actor]:
        """Start the actors and wait until each has opened its backend; raise if one cannot.

        Raises :class:`ClusterError` at once when the cluster has fewer CPUs than actors (each
        asks for one): Ray would wait for them forever.
        """
        nodes = [node for node in ray.nodes() if node["Alive"] and node["Resources"].get("CPU", 0) >= 1]
        count = self.workers or max(1, len(nodes))  # default: one per node that can hold an actor
        cpus = int(sum(node["Resources"]["CPU"] for node in nodes))
        if count > cpus:
            raise ClusterError(
                f"{count} Ray workers need {count} CPUs (one each), the cluster has {cpus}: "
                "lower --workers or add nodes (ray start --address=HEAD:PORT --num-cpus=1)"
            )
        remote = ray.remote(CaseWorker).options(
            num_cpus=1,
            max_restarts=MAX_RESTARTS,
            max_task_retries=MAX_RESTARTS,
            max_concurrency=work.parallel or _AUTO_SLOTS,
            scheduling_strategy="SPREAD",
        )
        handles = [remote.remote(self.opener, work, -(-cases // count)) for _ in range(count)]
        actors = []
        for handle, (error, slots, name) in zip(handles, ray.get([h.ready.remote() for h in handles]), strict=True):
            if error is not None:
                for h in handles:
                    ray.kill(h, no_restart=True)
                raise ClusterError(f"a Ray worker ({name}) cannot review: {error}")
            actors.append(_Actor(handle, slots, name))
        return actors


def share_groups(jobs: list[Job], actors: int) -> list[deque[Job]]:
    """The jobs as runs that one actor reviews back to back: the requirements groups, split into equal shares.

    Groups keep their first-seen order and each run its cases' order. A run is at most
    ``ceil(len(jobs) / actors)`` cases: one group of a thousand designs still keeps every
    actor busy, and each actor evaluates the group's shared prompt prefix once per run.
    """
    share = max(1, -(-len(jobs) // max(1, actors)))
    groups: dict[str, list[Job]] = {}
    for job in jobs:
        groups.setdefault(job.requirements.sha256, []).append(job)
    return [deque(group[i : i + share]) for group in groups.values() for i in range(0, len(group), share)]


class _Dispatch:
    """Hands each actor one run of a group (:func:`share_groups`) at a time; collects results as they arrive."""

    def __init__(
        self,
        ray: ModuleType,
        actors: list[_Actor],
        jobs: list[Job],
        started: Callable[[Job], None],
        finished: Callable[[Job, CaseResult], None],
    ) -> None:
        self.ray, self.actors, self.started, self.finished = ray, actors, started, finished
        self.groups = deque(share_groups(jobs, len(actors)))
        self.inflight: dict[Any, tuple[Job, _Actor]] = {}

    def run(self, should_stop: Callable[[], bool], poll_s: float) -> bool:
        """Review every job unless stopped; True if stopped with jobs left."""
        stopped = False
        while True:
            if not stopped:
                self._fill()
            if not self.inflight:
                left = bool(self.groups) or any(a.group for a in self.actors)
                if left and not stopped:
                    raise ClusterError("every Ray worker has died: re-run to review the remaining cases")
                return left
            ready, _ = self.ray.wait(list(self.inflight), num_returns=1, timeout=poll_s)
            for ref in ready:
                self._collect(ref)
            stopped = stopped or should_stop()

    def cancel(self) -> None:
        """Cancel what is in flight (the actors are killed next)."""
        for ref in self.inflight:
            with suppress(Exception):
                self.ray.cancel(ref)

    def _fill(self) -> None:
        for actor in self.actors:
            while actor.alive and actor.busy < actor.slots:
                if not actor.group:
                    if not self.groups:
                        break
                    actor.group = self.groups.popleft()
                job = actor.group.popleft()
                self.started(job)
                self.inflight[actor.handle.review.remote(job)] = (job, actor)
                actor.busy += 1

    def _collect(self, ref: Any) -> None:
        job, actor = self.inflight.pop(ref)
        actor.busy -= 1
        try:
            result = self.ray.get(ref)
        except self.ray.exceptions.RayActorError as exc:
            if actor.alive:  # its queued cases go to the others, first
                actor.alive = False
                if actor.group:
                    self.groups.appendleft(actor.group)
                    actor.group = deque()
            reason = f"the Ray worker reviewing it died {MAX_RESTARTS + 1} times ({_line(exc)})"
            result = CaseResult(None, reason, worker=actor.name)
        self.finished(job, result)


def _line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
