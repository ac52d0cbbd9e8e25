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
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from evaluator.backends import ModelOptions, Sampling
from evaluator.cases import Case
from evaluator.documents import read_document
from evaluator.errors import EvaluatorError
from evaluator.profiles import DEFAULT_PROFILE, load_profile
from evaluator.prompts import Prompts
from evaluator.review import Usage, generation_schema, part_model
from evaluator.reviewer import Reviewer, ReviewSettings


@dataclass(frozen=True)
class BenchOptions:
    """What to measure and how long to spend."""

    model: ModelOptions = field(default_factory=ModelOptions)
    profile: str = DEFAULT_PROFILE
    runs: int = 3
    gen_tokens: int = 128
    max_cases: int = 6
    naive: bool = True
    thread_counts: tuple[int, ...] = (1, 2)
    settings: ReviewSettings = field(default_factory=ReviewSettings)


@dataclass
class BenchReport:
    """Every figure of one bench run (medians where several runs were made)."""

    model: str
    model_bytes: int
    n_ctx: int
    threads: int
    cases: int
    raw_prompt_tps: dict[int, float] = field(default_factory=dict)  # by thread count
    raw_generation_tps: dict[int, float] = field(default_factory=dict)
    pipeline_generation_tps: float = 0.0
    pipeline_seconds_per_case: float = 0.0
    prompt_tokens: int = 0
    cached_tokens: int = 0
    shared_prefix_tokens: int = 0
    shared_prefix_cached_share: float = 0.0
    grammar_generation_tps: float = 0.0
    plain_generation_tps: float = 0.0
    naive_seconds_per_case: float | None = None
    peak_rss_bytes: int = 0
    kv_cache_bytes: int = 0

    @property
    def raw_generation(self) -> float:
        """Raw generation tok/s at the thread count the pipeline used."""
        return self.raw_generation_tps.get(self.threads, 0.0)

    def ratios(self) -> dict[str, float | None]:
        """The figures the targets are stated in."""
        naive = self.naive_seconds_per_case
        return {
            "pipeline/raw generation": _ratio(self.pipeline_generation_tps, self.raw_generation),
            "grammar/plain generation": _ratio(self.grammar_generation_tps, self.plain_generation_tps),
            "shared prefix served from cache": self.shared_prefix_cached_share,
            "batch/naive docs per hour": _ratio(naive, self.pipeline_seconds_per_case) if naive else None,
            "peak RSS / (model + KV cache + 300 MB)": _ratio(
                self.peak_rss_bytes, self.model_bytes + self.kv_cache_bytes + 300 * 2**20
            ),
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready figures, ratios included."""
        return {**asdict(self), "ratios": self.ratios()}


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a and b else None


def run_bench(cases: list[Case], options: BenchOptions, progress: Callable[[str], None]) -> BenchReport:
    """Measure everything on ``cases`` (the first ``max_cases`` with requirements)."""
    usable = [c for c in cases if c.requirements is not None][: options.max_cases]
    if not usable:
        raise EvaluatorError("no case with requirements to benchmark — pass --cases with designs and requirements")
    profile = load_profile(options.profile)
    prompts = Prompts()
    from evaluator.backends import default_threads
    from evaluator.backends.llama_cpp import LlamaCppBackend

    model_file = options.model.resolve()
    threads = options.model.threads or default_threads()
    n_ctx = options.model.n_ctx or model_file.n_ctx
    progress("loading the model")
    backend = LlamaCppBackend(model_file, n_ctx=n_ctx, n_threads=threads)
    report = BenchReport(model_file.name, model_file.path.stat().st_size, n_ctx, threads, len(usable))
    try:
        docs = [(read_document(c.requirements), read_document(c.design)) for c in usable]  # type: ignore[arg-type]
        first = prompts.messages(
            "review.md.j2", profile=profile, requirements=docs[0][0].text, design_title="", design=docs[0][1].text
        )
        _raw(backend, first, options, report, progress)
        _grammar_cost(backend, first, options, report, progress)
        _pipeline(backend, profile, prompts, docs, options, report, progress)
        report.kv_cache_bytes = _kv_bytes(backend, n_ctx)
    finally:
        backend.close()
    report.peak_rss_bytes = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    if options.naive:
        report.naive_seconds_per_case = _naive(usable, options, progress)
    return report


def _raw(backend: Any, messages: list[Any], options: BenchOptions, report: BenchReport, progress: Any) -> None:
    import llama_cpp

    llm = backend.llama
    tokens = backend.tokenize_messages(messages)[0]
    for threads in options.thread_counts:
        llama_cpp.llama_set_n_threads(llm.ctx, threads, threads)
        pp, tg = [], []
        for run in range(options.runs):
            progress(f"raw engine, {threads} thread(s), run {run + 1}/{options.runs}")
            _clear(llm)
            start = time.perf_counter()
            llm.eval(tokens)
            pp.append(len(tokens) / (time.perf_counter() - start))
            tg.append(_greedy_tps(llm, options.gen_tokens))
        report.raw_prompt_tps[threads] = statistics.median(pp)
        report.raw_generation_tps[threads] = statistics.median(tg)
    # Back to the context's own setting: generation on `threads`, prompt batches on every CPU.
    llama_cpp.llama_set_n_threads(llm.ctx, llm.n_threads, llm.n_threads_batch)
    _clear(llm)


def _greedy_tps(llm: Any, n: int) -> float:
    """Plain greedy decoding with the low-level API: the engine's own generation speed."""
    import llama_cpp

    n_vocab = llm.n_vocab()
    start = time.perf_counter()
    for _ in range(n):
        logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llm.ctx, -1), shape=(n_vocab,))
        llm.eval([int(logits.argmax())])
    return n / (time.perf_counter() - start)


def _clear(llm: Any) -> None:
    import llama_cpp

    llm.reset()
    llama_cpp.llama_memory_clear(llama_cpp.llama_get_memory(llm.ctx), True)


def _grammar_cost(backend: Any, messages: list[Any], options: BenchOptions, report: BenchReport, progress: Any) -> None:
    """The same generation with and without the grammar (prompt cached, so only generation differs)."""
    schema = generation_schema(part_model())
    sampling = Sampling()
    with_grammar, without = [], []
    for run in range(options.runs):
        progress(f"grammar cost, run {run + 1}/{options.runs}")
        g = backend.generate(messages, schema=schema, max_tokens=options.gen_tokens, sampling=sampling)
        p = backend.generate(messages, schema=None, max_tokens=options.gen_tokens, sampling=sampling)
        with_grammar.append(g.usage.generation_tokens_per_second)
        without.append(p.usage.generation_tokens_per_second)
    report.grammar_generation_tps = statistics.median(with_grammar)
    report.plain_generation_tps = statistics.median(without)
    _clear(backend.llama)


def _pipeline(
    backend: Any,
    profile: Any,
    prompts: Prompts,
    docs: list[Any],
    options: BenchOptions,
    report: BenchReport,
    progress: Any,
) -> None:
    reviewer = Reviewer(backend, profile, prompts, options.settings)
    usages: list[Usage] = []
    start = time.perf_counter()
    for i, (requirements, design) in enumerate(docs, 1):
        progress(f"pipeline, case {i}/{len(docs)}")
        review = reviewer.review(requirements, design)
        assert review.usage is not None
        usages.append(review.usage)
    report.pipeline_seconds_per_case = (time.perf_counter() - start) / len(docs)
    total = Usage()
    for usage in usages:
        total = total.add(usage)
    report.pipeline_generation_tps = statistics.median(u.generation_tokens_per_second for u in usages)
    report.prompt_tokens, report.cached_tokens = total.prompt_tokens, total.cached_tokens
    shared = _shared_prefix(backend, prompts, profile, docs)
    report.shared_prefix_tokens = shared
    later = usages[1:]
    if later and shared:
        report.shared_prefix_cached_share = statistics.median(min(u.cached_tokens, shared) / shared for u in later)


def _shared_prefix(backend: Any, prompts: Prompts, profile: Any, docs: list[Any]) -> int:
    """Tokens at the start of the first two cases' prompts that are identical."""
    if len(docs) < 2:
        return 0
    token_lists = [
        backend.tokenize_messages(
            prompts.messages("review.md.j2", profile=profile, requirements=r.text, design_title=d.title, design=d.text)
        )[0]
        for r, d in docs[:2]
    ]
    n = 0
    for a, b in zip(*token_lists, strict=False):
        if a != b:
            break
        n += 1
    return n


def _kv_bytes(backend: Any, n_ctx: int) -> int:
    meta = backend.llama.metadata
    arch = meta.get("general.architecture", "llama")
    layers = int(meta.get(f"{arch}.block_count", 0))
    heads = int(meta.get(f"{arch}.attention.head_count", 1))
    kv_heads = int(meta.get(f"{arch}.attention.head_count_kv", heads))
    embd = int(meta.get(f"{arch}.embedding_length", 0))
    return 2 * layers * n_ctx * kv_heads * (embd // heads) * 2  # K and V, f16


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
