"""``evaluator bench --endpoint``: how much of the servers' throughput the review pipeline keeps.

Side by side, in one run, over the same cases and the same single-pass review prompts:

- **server alone**: those prompts sent straight to the backend, 1, 2, 4 and 8 at a time,
  no validation, no retry — completion tokens per second of wall time;
- **pipeline**: the same cases reviewed by :class:`~evaluator.reviewer.engine.Reviewer` (token
  counting, schema, validation, retries) at the concurrency where the server alone was
  fastest — completion tokens of every generation (retries too) per second of wall time.

Every prompt is sent once before anything is timed, so both sides start with the same
prompt caches. The ratio pipeline/server at the best concurrency is the figure to watch.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from evaluator.backends.base import Backend, BackendFactory, Generation, Message, ModelInfo, Sampling
from evaluator.batch.cases import Case
from evaluator.documents.imports import read_requirements
from evaluator.documents.read import Document, read_document
from evaluator.errors import ContextError, DocumentError, GenerationError
from evaluator.grounding.profiles import DEFAULT_PROFILE
from evaluator.offline import enforce_offline
from evaluator.reviewer.engine import ReviewSettings
from evaluator.reviewer.schemas import generation_schema
from evaluator.reviewer.setup import ReviewSetup

CONCURRENCIES = (1, 2, 4, 8)


@dataclass
class ServerBenchReport:
    """Figures of one ``bench --endpoint`` run (tokens/s are completion tokens per second of wall time)."""

    model: str
    server: str
    slots: int
    cases: int
    max_tokens: int
    server_tps: dict[int, float] = field(default_factory=dict)  # by requests in flight
    server_requests_per_min: dict[int, float] = field(default_factory=dict)
    best_concurrency: int = 1
    pipeline_tps: float = 0.0
    pipeline_reviews_per_min: float = 0.0
    pipeline_retries: int = 0
    pipeline_failures: int = 0  # reviews with no valid output after the retry (their tokens count too)

    @property
    def ratio(self) -> float | None:
        """Pipeline / server throughput at the best concurrency (the target: at least 0.9)."""
        best = self.server_tps.get(self.best_concurrency)
        return self.pipeline_tps / best if best else None

    def to_dict(self) -> dict[str, Any]:
        """Plain data for ``--json``."""
        return {**asdict(self), "ratio": self.ratio}


class _Counting:
    """A backend that sums the completion tokens of every generation through it (retries included)."""

    def __init__(self, backend: Backend) -> None:
        self.backend, self.name, self.n_ctx = backend, backend.name, backend.n_ctx
        self.n_params = getattr(backend, "n_params", None)  # the review asks what the model's size allows
        self.completion_tokens = 0
        self._lock = threading.Lock()

    @property
    def info(self) -> ModelInfo:
        """The wrapped backend's model."""
        return self.backend.info

    def count_tokens(self, messages: list[Message]) -> int:
        """The wrapped backend's count."""
        return self.backend.count_tokens(messages)

    def generate(self, messages: list[Message], **kwargs: Any) -> Generation:
        """The wrapped backend's generation, its completion tokens added up."""
        generation = self.backend.generate(messages, **kwargs)
        with self._lock:
            self.completion_tokens += generation.completion_tokens
        return generation

    def close(self) -> None:
        """Nothing: the caller closes the wrapped backend."""


@dataclass(frozen=True)
class _Case:
    requirements: Document
    design: Document
    messages: list[Message]


def bench_servers(
    cases: list[Case],
    factory: BackendFactory,
    settings: ReviewSettings,
    progress: Callable[[str], None],
    *,
    profile: str = DEFAULT_PROFILE,
    prompts_dir: Path | None = None,
) -> ServerBenchReport:
    """Read ``cases``, open ``factory`` (the servers) and measure them; see :func:`run_server_bench`."""
    enforce_offline()
    setup = ReviewSetup.load(profile, prompts_dir, settings)
    docs = [
        (read_requirements(c.requirements, role="requirements"), read_document(c.design, role="design"))
        for c in cases
        if c.requirements is not None
    ]
    if not docs:
        raise DocumentError("no case with a requirements document to measure with", settings=("cases",))
    progress("probing the servers")
    with factory.open() as backend:
        return run_server_bench(backend, docs, setup=setup, progress=progress)


def run_server_bench(
    backend: Backend,
    docs: list[tuple[Document, Document]],
    *,
    setup: ReviewSetup,
    progress: Callable[[str], None],
    concurrencies: tuple[int, ...] = CONCURRENCIES,
    rounds: int = 2,
) -> ServerBenchReport:
    """Measure ``backend`` alone and the pipeline through it over ``docs`` (requirements, design) pairs.

    At each concurrency N both sides send ``rounds`` × N requests (at least one per case),
    cycling through the cases, N in flight at a time: with one round, the slowest request
    (a retried review, on the pipeline's side) would leave the servers idle at the end.
    Only cases whose review fits one pass are used, so both sides send the same requests;
    raises ContextError when none does.
    """
    settings = setup.settings
    schema = generation_schema(setup.reviewer(backend).prose_model())
    cases = _single_pass(backend, docs, setup)
    info = getattr(backend, "info", None)
    report = ServerBenchReport(
        model=backend.name,
        server=f"{info.kind} {info.version or ''}".strip() if info else "",
        slots=int(getattr(backend, "parallel", 1)),
        cases=len(cases),
        max_tokens=settings.max_tokens,
    )
    send = _sender(backend, schema, settings)
    progress("warming the prompt caches")
    _timed([c.messages for c in cases], send, max(concurrencies))
    for n in concurrencies:
        progress(f"server alone, {n} request(s) at a time")
        requests = [c.messages for c in _rounds(cases, n, rounds)]
        seconds, tokens = _timed(requests, send, n)
        report.server_tps[n] = tokens / seconds
        report.server_requests_per_min[n] = len(requests) * 60 / seconds
    report.best_concurrency = max(report.server_tps, key=lambda n: report.server_tps[n])
    progress(f"pipeline, {report.best_concurrency} review(s) at a time")
    _pipeline(backend, _rounds(cases, report.best_concurrency, rounds), setup, report)
    return report


def _single_pass(backend: Backend, docs: list[tuple[Document, Document]], setup: ReviewSetup) -> list[_Case]:
    cases = []
    reviewer = setup.reviewer(backend)
    for requirements, design in docs:
        messages = reviewer.prose_messages(requirements, design)
        if backend.count_tokens(messages) + setup.settings.max_tokens <= backend.n_ctx:
            cases.append(_Case(requirements, design, messages))
    if not cases:
        raise ContextError(f"no case fits one review pass in a {backend.n_ctx}-token context — use smaller cases")
    return cases


def _sender(backend: Backend, schema: dict[str, Any], settings: ReviewSettings) -> Callable[[list[Message]], int]:
    sampling: Sampling = settings.sampling

    def send(messages: list[Message]) -> int:
        gen = backend.generate(messages, schema=schema, max_tokens=settings.max_tokens, sampling=sampling)
        return gen.completion_tokens

    return send


def _rounds(cases: list[_Case], concurrency: int, rounds: int) -> list[_Case]:
    """``rounds`` × ``concurrency`` requests (at least every case once), cycling through the cases."""
    count = max(rounds * concurrency, len(cases))
    return [cases[i % len(cases)] for i in range(count)]


def _timed(requests: list[Any], work: Callable[[Any], int], concurrency: int) -> tuple[float, int]:
    """Wall seconds and summed results of ``work`` over ``requests``, ``concurrency`` at a time."""
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        total = sum(pool.map(work, requests))
    return time.perf_counter() - started, total


def _pipeline(backend: Backend, cases: list[_Case], setup: ReviewSetup, report: ServerBenchReport) -> None:
    counting = _Counting(backend)
    reviewer = setup.reviewer(counting)
    n = report.best_concurrency
    counts = {"retries": 0, "failures": 0}

    def review(case: _Case) -> int:
        try:
            result = reviewer.review(case.requirements, case.design)
        except GenerationError:  # recorded as a failed case in a batch; its tokens count all the same
            counts["failures"] += 1
            return 0
        counts["retries"] += result.processing.retries if result.processing else 0
        return 0

    seconds, _ = _timed(cases, review, n)
    report.pipeline_tps = counting.completion_tokens / seconds
    report.pipeline_reviews_per_min = len(cases) * 60 / seconds
    report.pipeline_retries, report.pipeline_failures = counts["retries"], counts["failures"]
