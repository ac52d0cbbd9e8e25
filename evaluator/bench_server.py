"""``evaluator bench --endpoint``: how much of the servers' throughput the review pipeline keeps.

Side by side, in one run, over the same cases and the same single-pass review prompts:

- **server alone**: those prompts sent straight to the backend, 1, 2, 4 and 8 at a time,
  no validation, no retry — completion tokens per second of wall time;
- **pipeline**: the same cases reviewed by :class:`~evaluator.reviewer.Reviewer` (token
  counting, schema, validation, retries) at the concurrency where the server alone was
  fastest — completion tokens per second of wall time.

Every prompt is sent once before anything is timed, so both sides start with the same
prompt caches. The ratio pipeline/server at the best concurrency is the figure to watch.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from evaluator.backends.base import Backend, BackendFactory, Sampling
from evaluator.cases import Case
from evaluator.documents import Document, read_document
from evaluator.errors import ContextError, DocumentError, GenerationError
from evaluator.offline import enforce_offline
from evaluator.profiles import DEFAULT_PROFILE, Profile, load_profile
from evaluator.prompts import Message, Prompts
from evaluator.review import draft_model, generation_schema
from evaluator.reviewer import Reviewer, ReviewSettings

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
    pipeline_failures: int = 0  # reviews with no valid output after the retry (their tokens still count)

    @property
    def ratio(self) -> float | None:
        """Pipeline / server throughput at the best concurrency (the target: at least 0.9)."""
        best = self.server_tps.get(self.best_concurrency)
        return self.pipeline_tps / best if best else None

    def to_dict(self) -> dict[str, Any]:
        """Plain data for ``--json``."""
        return {**asdict(self), "ratio": self.ratio}


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
    reviewer_profile = load_profile(profile, prompts_dir)
    prompts = Prompts(prompts_dir)
    docs = [
        (read_document(c.requirements, role="requirements"), read_document(c.design, role="design"))
        for c in cases
        if c.requirements is not None
    ]
    if not docs:
        raise DocumentError("no case with a requirements document to measure with", settings=("cases",))
    progress("probing the servers")
    with factory.open() as backend:
        return run_server_bench(
            backend, docs, profile=reviewer_profile, prompts=prompts, settings=settings, progress=progress
        )


def run_server_bench(
    backend: Backend,
    docs: list[tuple[Document, Document]],
    *,
    profile: Profile,
    prompts: Prompts,
    settings: ReviewSettings,
    progress: Callable[[str], None],
    concurrencies: tuple[int, ...] = CONCURRENCIES,
) -> ServerBenchReport:
    """Measure ``backend`` alone and the pipeline through it over ``docs`` (requirements, design) pairs.

    Only cases whose review fits one pass are used, so both sides send the same requests.
    Raises ContextError when none does.
    """
    schema = generation_schema(draft_model(profile))
    cases = _single_pass(backend, docs, profile, prompts, settings)
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
        requests = [c.messages for c in cases] * max(1, -(-2 * n // len(cases)))  # at least two rounds
        seconds, tokens = _timed(requests, send, n)
        report.server_tps[n] = tokens / seconds
        report.server_requests_per_min[n] = len(requests) * 60 / seconds
    report.best_concurrency = max(report.server_tps, key=lambda n: report.server_tps[n])
    progress(f"pipeline, {report.best_concurrency} review(s) at a time")
    _pipeline(backend, cases, profile, prompts, settings, report)
    return report


def _single_pass(
    backend: Backend, docs: list[tuple[Document, Document]], profile: Profile, prompts: Prompts, s: ReviewSettings
) -> list[_Case]:
    cases = []
    for requirements, design in docs:
        messages = prompts.messages(
            "review.md.j2",
            profile=profile,
            requirements=requirements.text,
            design_title=design.title,
            design=design.text,
        )
        if backend.count_tokens(messages) + s.max_tokens <= backend.n_ctx:
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


def _timed(requests: list[Any], work: Callable[[Any], int], concurrency: int) -> tuple[float, int]:
    """Wall seconds and summed results of ``work`` over ``requests``, ``concurrency`` at a time."""
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        total = sum(pool.map(work, requests))
    return time.perf_counter() - started, total


def _pipeline(
    backend: Backend,
    cases: list[_Case],
    profile: Profile,
    prompts: Prompts,
    settings: ReviewSettings,
    report: ServerBenchReport,
) -> None:
    reviewer = Reviewer(backend, profile, prompts, settings)
    n = report.best_concurrency
    counts = {"retries": 0, "failures": 0}

    def review(case: _Case) -> int:
        try:
            result = reviewer.review(case.requirements, case.design)
        except GenerationError:  # the tokens were spent all the same, but are not reported back
            counts["failures"] += 1
            return 0
        counts["retries"] += result.processing.retries if result.processing else 0
        return result.usage.completion_tokens if result.usage else 0

    requests = cases * max(1, -(-2 * n // len(cases)))
    seconds, tokens = _timed(requests, review, n)
    report.pipeline_tps = tokens / seconds
    report.pipeline_reviews_per_min = len(requests) * 60 / seconds
    report.pipeline_retries, report.pipeline_failures = counts["retries"], counts["failures"]
