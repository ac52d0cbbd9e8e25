"""``evaluator bench``: how much of the engine's speed the review pipeline keeps.

All figures come from one process, side by side, because these machines are noisy: raw
engine speed through llama-cpp-python's low-level calls (no grammar), the same model driven
through the real review pipeline on cases sharing requirements, the grammar's cost, KV-cache
reuse, peak memory, and a naive per-file baseline (one CLI process per case).
"""

from __future__ import annotations

import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from evaluator.backends import ModelOptions, Sampling
from evaluator.backends.engine import N_BATCH, new_context
from evaluator.batch.capacity import plan_capacity
from evaluator.batch.cases import Case
from evaluator.documents.imports import read_requirements
from evaluator.documents.read import read_document
from evaluator.errors import EvaluatorError
from evaluator.grounding.profiles import DEFAULT_PROFILE
from evaluator.review.record import Usage
from evaluator.reviewer.engine import Reviewer, ReviewSettings
from evaluator.reviewer.schemas import generation_schema
from evaluator.reviewer.setup import ReviewSetup


@dataclass(frozen=True)
class BenchOptions:
    """What to measure and how long to spend."""

    model: ModelOptions = field(default_factory=ModelOptions)
    profile: str = DEFAULT_PROFILE
    runs: int = 3
    gen_tokens: int = 128
    max_cases: int = 8
    naive: bool = True
    thread_counts: tuple[int, ...] = (1, 2)
    batch_sizes: tuple[int, ...] = (1, 2, 4, 8)
    depth: int | None = None  # tokens in each sequence's cache in the raw batched runs; None: the review prompt's
    parallel: int | None = None  # for the batched pipeline; None: auto
    settings: ReviewSettings = field(default_factory=ReviewSettings)


@dataclass
class BenchReport:
    """Every figure of one bench run (medians where several runs were made)."""

    model: str
    model_bytes: int
    n_ctx: int
    threads: int
    cases: int
    parallel: int
    raw_prompt_tps: dict[int, float] = field(default_factory=dict)  # by thread count
    raw_generation_tps: dict[int, float] = field(default_factory=dict)
    raw_batched_tps: dict[int, float] = field(default_factory=dict)  # total, by sequences decoded together
    pipeline_generation_tps: float = 0.0
    pipeline_seconds_per_case: float = 0.0
    batched_seconds_per_case: float = 0.0
    batched_completion_tps: float = 0.0  # completion tokens of all cases / wall time
    prompt_share: float = 0.0  # of one-at-a-time review time, the share spent evaluating prompts
    prompt_tokens: int = 0
    cached_tokens: int = 0
    shared_prefix_tokens: int = 0
    shared_prefix_cached_share: float = 0.0
    grammar_generation_tps: float = 0.0  # sample-first check
    full_check_generation_tps: float = 0.0  # whole vocabulary checked every token
    plain_generation_tps: float = 0.0
    naive_seconds_per_case: float | None = None
    peak_rss_bytes: int = 0
    kv_cache_bytes: int = 0

    @property
    def raw_generation(self) -> float:
        """Raw single-sequence generation tok/s at the thread count the pipeline used."""
        return self.raw_generation_tps.get(self.threads, 0.0)

    def ratios(self) -> dict[str, float | None]:
        """The figures the targets are stated in."""
        naive = self.naive_seconds_per_case
        return {
            "pipeline/raw generation": _ratio(self.pipeline_generation_tps, self.raw_generation),
            "grammar/plain generation": _ratio(self.grammar_generation_tps, self.plain_generation_tps),
            "sample-first/full grammar check": _ratio(self.grammar_generation_tps, self.full_check_generation_tps),
            "shared prefix served from cache": self.shared_prefix_cached_share,
            "batch/naive docs per hour": _ratio(naive, self.batched_seconds_per_case) if naive else None,
            "peak RSS / (model + KV cache + 300 MB)": _ratio(
                self.peak_rss_bytes, self.model_bytes + self.kv_cache_bytes + 300 * 2**20
            ),
            "best batched/single-sequence raw generation": self.batching_gain,
            "batched/one-at-a-time pipeline wall time": _ratio(
                self.batched_seconds_per_case, self.pipeline_seconds_per_case
            ),
            "same, best possible at the measured batching gain": self.wall_time_bound,
        }

    @property
    def batching_gain(self) -> float | None:
        """Best total raw generation of several sequences together over one sequence alone."""
        return _ratio(max(self.raw_batched_tps.values(), default=0), self.raw_batched_tps.get(1))

    @property
    def wall_time_bound(self) -> float | None:
        """Batched over one-at-a-time wall time if only generation got faster, by the batching gain.

        Prompt evaluation already runs in batches of many tokens, so decoding several
        reviews together cannot shorten it: with a share ``p`` of the time in prompts and a
        gain ``g``, the best ratio is ``p + (1 - p) / g``.
        """
        gain, p = self.batching_gain, self.prompt_share
        return p + (1 - p) / gain if gain and p else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready figures, ratios included."""
        return {**asdict(self), "ratios": self.ratios()}


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a and b else None


def run_bench(cases: list[Case], options: BenchOptions, progress: Callable[[str], None]) -> BenchReport:
    """Measure everything on ``cases`` (the first ``max_cases`` with requirements)."""
    usable = [c for c in cases if c.requirements is not None][: options.max_cases]
    if not usable:
        raise EvaluatorError(
            "no case with requirements to benchmark — give a folder with designs and requirements", settings=("cases",)
        )
    setup = ReviewSetup.load(options.profile, settings=options.settings)  # a bad profile fails before loading
    from evaluator.backends.gguf import GGUFFactory, default_threads

    factory = GGUFFactory(options.model)  # the raw measurements drive llama.cpp itself: local GGUF only
    info = factory.model_info()
    threads = options.model.threads or default_threads()
    capacity = plan_capacity(options.parallel, factory.memory(), info.n_ctx, len(usable))
    progress(f"loading the model ({capacity.describe()})")
    report = BenchReport(info.name, capacity.model_bytes, info.n_ctx, threads, len(usable), capacity.parallel)
    report.kv_cache_bytes = capacity.parallel * capacity.kv_bytes_per_seq
    docs = [(read_requirements(c.requirements), read_document(c.design)) for c in usable]  # type: ignore[arg-type]
    with factory.open(capacity.parallel) as backend:
        _measure(backend, docs, setup, options, report, progress)
    if options.naive:
        report.naive_seconds_per_case = _naive(usable, options, progress)
    return report


def _measure(
    backend: Any,
    docs: list[Any],
    setup: ReviewSetup,
    options: BenchOptions,
    report: BenchReport,
    progress: Callable[[str], None],
) -> None:
    """Every in-process measurement, on one loaded backend."""
    runner = _Pipeline(backend, setup.reviewer(backend), progress)
    _pipeline(runner, docs, report)
    _shared(backend, runner.reviewer, docs, runner.usages, report)
    report.peak_rss_bytes = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # before the raw contexts
    first = runner.reviewer.model_messages(*docs[0])  # the pass a review sends: prose, or a small model's summary
    _grammar_cost(backend, first, runner.reviewer.model_output(), options, report, progress)
    backend.engine.reset()
    tokens = backend.tokenize_messages(first)[0]
    _raw(backend.llama, tokens, options, report, progress)
    _raw_batched(backend.llama, tokens, options, report, progress)


@dataclass
class _Pipeline:
    backend: Any
    reviewer: Reviewer
    progress: Callable[[str], None]
    usages: list[Usage] = field(default_factory=list)

    def one_at_a_time(self, docs: list[Any]) -> float:
        """Review the cases in order, one at a time; wall seconds."""
        start = time.perf_counter()
        for i, (requirements, design) in enumerate(docs, 1):
            self.progress(f"pipeline, one case at a time: case {i}/{len(docs)}")
            review = self.reviewer.review(requirements, design)
            assert review.usage is not None
            self.usages.append(review.usage)
        return time.perf_counter() - start

    def together(self, docs: list[Any], parallel: int) -> tuple[float, int]:
        """Review the cases ``parallel`` at a time, as ``batch`` does; wall seconds, completion tokens."""
        self.progress(f"pipeline, {parallel} cases at a time: {len(docs)} cases")
        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=parallel) as pool:
            reviews = list(pool.map(lambda d: self.reviewer.review(*d), docs))
        return time.perf_counter() - start, sum(r.usage.completion_tokens for r in reviews if r.usage)


def _pipeline(runner: _Pipeline, docs: list[Any], report: BenchReport) -> None:
    """The same cases one at a time, then ``parallel`` at a time, each from a cold cache."""
    runner.backend.engine.reset()
    report.pipeline_seconds_per_case = runner.one_at_a_time(docs) / len(docs)
    report.pipeline_generation_tps = statistics.median(u.generation_tokens_per_second for u in runner.usages)
    total = Usage()
    for usage in runner.usages:
        total = total.add(usage)
    report.prompt_tokens, report.cached_tokens = total.prompt_tokens, total.cached_tokens
    report.prompt_share = total.prompt_seconds / total.seconds if total.seconds else 0.0
    runner.backend.engine.reset()
    seconds, completion = runner.together(docs, report.parallel)
    report.batched_seconds_per_case = seconds / len(docs)
    report.batched_completion_tps = completion / seconds


def _shared(backend: Any, reviewer: Reviewer, docs: list[Any], usages: list[Usage], report: BenchReport) -> None:
    shared = _shared_prefix(backend, reviewer, docs)
    report.shared_prefix_tokens = shared
    later = usages[1:]
    if later and shared:
        report.shared_prefix_cached_share = statistics.median(min(u.cached_tokens, shared) / shared for u in later)


def _grammar_cost(
    backend: Any, messages: list[Any], output: type[Any], options: BenchOptions, report: BenchReport, progress: Any
) -> None:
    """The same generation with the sample-first and the full grammar check, and without a grammar.

    The prompt is cached after the first call, so only generation differs.
    """
    schema = generation_schema(output)
    sampling, engine = Sampling(), backend.engine
    figures: dict[str, list[float]] = {"sample-first": [], "full": [], "plain": []}
    for run in range(options.runs):
        progress(f"grammar cost, run {run + 1}/{options.runs}")
        for name in figures:
            engine.sample_first = name != "full"
            gen = backend.generate(
                messages, schema=None if name == "plain" else schema, max_tokens=options.gen_tokens, sampling=sampling
            )
            figures[name].append(gen.usage.generation_tokens_per_second)
    engine.sample_first = True
    report.grammar_generation_tps = statistics.median(figures["sample-first"])
    report.full_check_generation_tps = statistics.median(figures["full"])
    report.plain_generation_tps = statistics.median(figures["plain"])


def _raw(llm: Any, tokens: list[int], options: BenchOptions, report: BenchReport, progress: Any) -> None:
    """One sequence through llama-cpp-python's low-level calls: prompt and greedy generation, no grammar."""
    raw = _RawContext(llm, 1, len(tokens) + options.gen_tokens + 8)
    try:
        for threads in options.thread_counts:
            raw.threads(threads)
            pp, tg = [], []
            for run in range(options.runs):
                progress(f"raw engine, {threads} thread(s), run {run + 1}/{options.runs}")
                raw.clear()
                start = time.perf_counter()
                raw.prefill(tokens[:-1], 1)
                pp.append((len(tokens) - 1) / (time.perf_counter() - start))
                tg.append(raw.generate(tokens[-1], len(tokens) - 1, 1, options.gen_tokens))
            report.raw_prompt_tps[threads] = statistics.median(pp)
            report.raw_generation_tps[threads] = statistics.median(tg)
    finally:
        raw.close()


def _raw_batched(llm: Any, tokens: list[int], options: BenchOptions, report: BenchReport, progress: Any) -> None:
    """Total greedy generation of B sequences decoded together, each ``depth`` tokens deep."""
    depth = min(options.depth or len(tokens), len(tokens) - 1)
    raw = _RawContext(llm, max(options.batch_sizes), depth + options.gen_tokens + 8)
    try:
        raw.threads(max(options.thread_counts))  # batches of several tokens run on the batch threads
        progress(f"raw engine, a {depth}-token prefix copied to {raw.n_seq} sequences")
        raw.prefill(tokens[:depth], raw.n_seq)
        for n in options.batch_sizes:
            runs = []
            for run in range(options.runs):
                progress(f"raw engine, {n} sequence(s) together, run {run + 1}/{options.runs}")
                raw.trim(depth)
                runs.append(raw.generate(tokens[depth], depth, n, options.gen_tokens))
            report.raw_batched_tps[n] = statistics.median(runs)
    finally:
        raw.close()


class _RawContext:
    """A bare context for the raw figures: a prompt into sequence 0, copied to the others."""

    def __init__(self, llm: Any, n_seq: int, n_ctx_seq: int) -> None:
        import llama_cpp

        self._lib, self.n_seq = llama_cpp, n_seq
        self.ctx = new_context(llm, n_seq=n_seq, n_ctx_seq=n_ctx_seq, n_threads=1, n_threads_batch=1)
        self._memory = llama_cpp.llama_get_memory(self.ctx)
        self._batch = llama_cpp.llama_batch_init(N_BATCH, 0, 1)
        self._n_vocab = llm.n_vocab()

    def threads(self, n: int) -> None:
        self._lib.llama_set_n_threads(self.ctx, n, n)

    def clear(self) -> None:
        self._lib.llama_memory_clear(self._memory, True)

    def trim(self, pos: int) -> None:
        """Drop every sequence's tokens from ``pos`` on."""
        for seq in range(self.n_seq):
            self._lib.llama_memory_seq_rm(self._memory, seq, pos, -1)

    def prefill(self, tokens: list[int], n_seq: int) -> None:
        for i in range(0, len(tokens), N_BATCH):
            chunk = tokens[i : i + N_BATCH]
            self._decode([(t, i + j, 0) for j, t in enumerate(chunk)], every_logit=False)
        for seq in range(1, n_seq):
            self._lib.llama_memory_seq_cp(self._memory, 0, seq, -1, -1)

    def generate(self, first: int, pos: int, n_seq: int, n: int) -> float:
        """``n`` greedy steps of ``n_seq`` sequences from token ``first`` at ``pos``; total tok/s."""
        token = first
        start = time.perf_counter()
        for step in range(n):
            self._decode([(token, pos + step, seq) for seq in range(n_seq)], every_logit=True)
            logits = self._lib.llama_get_logits_ith(self.ctx, 0)
            token = int(np.ctypeslib.as_array(logits, shape=(self._n_vocab,)).argmax())
        return n * n_seq / (time.perf_counter() - start)

    def _decode(self, rows: list[tuple[int, int, int]], *, every_logit: bool) -> None:
        """One llama_decode; logits for every row (generation) or none but the last (prompt)."""
        b = self._batch
        for i, (token, pos, seq) in enumerate(rows):
            b.token[i], b.pos[i], b.n_seq_id[i], b.logits[i] = token, pos, 1, every_logit or i == len(rows) - 1
            b.seq_id[i][0] = seq
        b.n_tokens = len(rows)
        if self._lib.llama_decode(self.ctx, b) != 0:
            raise EvaluatorError("llama_decode failed during the raw measurement")

    def close(self) -> None:
        self._lib.llama_batch_free(self._batch)
        self._lib.llama_free(self.ctx)


def _shared_prefix(backend: Any, reviewer: Reviewer, docs: list[Any]) -> int:
    """Tokens at the start of the first two cases' prompts that are identical."""
    if len(docs) < 2:
        return 0
    token_lists = [backend.tokenize_messages(reviewer.model_messages(r, d))[0] for r, d in docs[:2]]
    n = 0
    for a, b in zip(*token_lists, strict=False):
        if a != b:
            break
        n += 1
    return n


def _naive(cases: list[Case], options: BenchOptions, progress: Any) -> float:
    """One `evaluator review` process per case, as a per-file shell loop over a CLI would."""
    seconds = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, case in enumerate(cases, 1):
            progress(f"naive baseline, case {i}/{len(cases)}")
            command = [
                sys.executable,
                "-m",
                "evaluator",
                "review",
                "-r",
                str(case.requirements),
                "-d",
                str(case.design),
            ]
            command += ["-o", str(Path(tmp) / f"{i}.md"), "--max-tokens", str(options.settings.max_tokens)]
            if options.model.model:
                command += ["--model", options.model.model]
            if options.model.threads:
                command += ["--threads", str(options.model.threads)]
            start = time.perf_counter()
            subprocess.run(command, check=False, capture_output=True)
            seconds.append(time.perf_counter() - start)
    return sum(seconds) / len(seconds)
