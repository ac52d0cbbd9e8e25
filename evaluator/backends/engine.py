"""Several generations per ``llama_decode`` call: the batched decode engine.

One thread owns a llama.cpp context with one KV stream per sequence slot. Callers submit
requests from any thread and wait on a future; every step the engine puts one token of each
generating sequence and a chunk of any prompt still being read into one batch, decodes it,
and samples each sequence on its own (grammar state, repeat penalty, budget, loop check,
stop). A finished sequence frees its slot at once for the next request (continuous
batching), and its KV stream stays as a cache: a later prompt sharing its start reuses it,
in place or copied to another slot, so cases sharing requirements evaluate them once.

Grammar checks are sample-first, as llama.cpp's own sampler does: the unconstrained choice
is checked alone and the whole vocabulary is masked only when the grammar rejects it. Under
greedy sampling this gives exactly the output of a full check (a test shows it).
"""

from __future__ import annotations

import ctypes
import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import llama_cpp
import numpy as np

from evaluator.backends.base import Generation, Sampling
from evaluator.errors import GenerationError

# n_batch = n_ubatch. At a review prompt's depth (6,000 tokens) 256 evaluates prompts as fast as
# 512 here, and llama.cpp's attention scores for a step (ubatch × depth × heads floats) take
# half the memory: peak RSS 100 MiB lower with four 8,192-token streams.
N_BATCH = 256
_PENALTY_WINDOW = 64  # llama.cpp's default penalty_last_n
_TOP_K = 40  # only for temperature > 0
_TOP_CHECK = 64  # candidates checked against the grammar before the whole vocabulary
_MIN_COPY_GAIN = 64  # copy another slot's prefix only when it saves this many tokens
_TOKEN_DTYPE = np.dtype([("id", np.int32), ("logit", np.float32), ("p", np.float32)])


@dataclass
class Request:
    """One generation: prompt tokens in, a :class:`Generation` out through ``future``."""

    tokens: list[int]
    grammar: str | None  # GBNF text; None: unconstrained
    max_tokens: int
    sampling: Sampling
    deadline: float | None = None
    future: Future[Generation] = field(default_factory=Future)


@dataclass
class _Slot:
    seq: int
    kv: list[int] = field(default_factory=list)  # tokens whose keys/values are in this stream
    request: Request | None = None
    pending: list[int] = field(default_factory=list)  # prompt tokens still to evaluate
    output: list[int] = field(default_factory=list)
    pieces: list[bytes] = field(default_factory=list)
    grammar: Any = None  # llama_sampler_p
    rng: np.random.Generator | None = None
    cached: int = 0
    started: float = 0.0
    prompt_seconds: float = 0.0

    @property
    def busy(self) -> bool:
        return self.request is not None


class DecodeEngine:
    """Continuous batching over ``n_seq`` slots of one context; see the module docstring."""

    def __init__(self, llm: Any, *, n_seq: int, n_ctx_seq: int, n_threads: int, n_threads_batch: int) -> None:
        self.n_seq, self.n_ctx_seq = n_seq, n_ctx_seq
        self._vocab = llama_cpp.llama_model_get_vocab(llm._model.model)
        self.n_vocab = llama_cpp.llama_vocab_n_tokens(self._vocab)
        self.ctx = new_context(
            llm, n_seq=n_seq, n_ctx_seq=n_ctx_seq, n_threads=n_threads, n_threads_batch=n_threads_batch
        )
        self._memory = llama_cpp.llama_get_memory(self.ctx)
        self._n_batch = N_BATCH
        self._batch = llama_cpp.llama_batch_init(self._n_batch, 0, 1)
        self._slots = [_Slot(seq) for seq in range(n_seq)]
        self._waiting: list[Request] = []
        self._inbox: queue.Queue[Request | None] = queue.Queue()
        self._candidates = np.zeros(self.n_vocab, dtype=_TOKEN_DTYPE)
        self._candidates["id"] = np.arange(self.n_vocab, dtype=np.int32)
        self._pieces: dict[int, bytes] = {}
        self.sample_first = True
        self.full_checks = 0  # tokens for which the grammar had to mask the whole vocabulary (bench, tests)
        self._thread = threading.Thread(target=self._run, name="decode-engine", daemon=True)
        self._closed = False
        self._thread.start()

    def reset(self) -> None:
        """Forget every cached prefix (``evaluator bench`` compares runs from the same cold start)."""
        assert not any(s.busy for s in self._slots) and not self._waiting, "reset() while generating"
        llama_cpp.llama_memory_clear(self._memory, True)
        for slot in self._slots:
            slot.kv = []

    def submit(self, request: Request) -> Future[Generation]:
        """Queue ``request``; its future resolves when its sequence stops."""
        if self._closed:
            raise GenerationError("the decode engine is closed")
        self._inbox.put(request)
        return request.future

    def close(self) -> None:
        """Stop the engine thread and free the context."""
        if self._closed:
            return
        self._closed = True
        self._inbox.put(None)
        self._thread.join()
        llama_cpp.llama_batch_free(self._batch)
        llama_cpp.llama_free(self.ctx)

    # --- the engine thread -------------------------------------------------------------

    def _run(self) -> None:
        while True:
            idle = not self._waiting and not any(s.busy for s in self._slots)
            if not self._collect(block=idle):
                break
            try:
                self._admit()
                if any(s.busy for s in self._slots):
                    self._step()
            except Exception as exc:  # a bug or a llama.cpp failure: fail the requests, never hang them
                self._fail_all(exc)
        self._fail_all(GenerationError("the decode engine was closed"))

    def _collect(self, *, block: bool) -> bool:
        """Move submitted requests to the waiting list; False once close() was called."""
        try:
            item = self._inbox.get(block=block)
            while True:
                if item is None:
                    return False
                self._waiting.append(item)
                item = self._inbox.get_nowait()
        except queue.Empty:
            return True

    def _admit(self) -> None:
        for request in list(self._waiting):
            free = [s for s in self._slots if not s.busy]
            if not free:
                return
            if self._prefix_in_progress(request):
                continue  # another slot is still reading this prompt's start: copy it when done
            self._waiting.remove(request)
            try:
                self._start(request, free)
            except GenerationError as exc:  # this request cannot run (its grammar): the others can
                request.future.set_exception(exc)

    def _prefix_in_progress(self, request: Request) -> bool:
        best = max((_common(s.kv, request.tokens) for s in self._slots), default=0)
        for slot in self._slots:
            if slot.busy and slot.pending:
                target = slot.kv + slot.pending
                shared = _common(target, request.tokens)
                if shared > best + _MIN_COPY_GAIN and len(slot.kv) < shared:
                    return True
        return False

    def _start(self, request: Request, free: list[_Slot]) -> None:
        tokens = request.tokens
        if len(tokens) + request.max_tokens > self.n_ctx_seq:
            request.future.set_exception(
                GenerationError(f"prompt ({len(tokens)}) plus max_tokens exceed {self.n_ctx_seq} tokens per sequence")
            )
            return
        grammar = self._grammar(request.grammar) if request.grammar else None  # may raise: before any state
        slot = max(free, key=lambda s: _common(s.kv, tokens))
        keep = min(_common(slot.kv, tokens), len(tokens) - 1)
        donor = max(self._slots, key=lambda s: _common(s.kv, tokens))
        shared = min(_common(donor.kv, tokens), len(tokens) - 1)
        if donor is not slot and shared >= keep + _MIN_COPY_GAIN:
            # llama.cpp copies whole streams only: copy all, then cut back to the shared start.
            llama_cpp.llama_memory_seq_rm(self._memory, slot.seq, -1, -1)
            llama_cpp.llama_memory_seq_cp(self._memory, donor.seq, slot.seq, -1, -1)
            slot.kv, keep = list(donor.kv), shared
        llama_cpp.llama_memory_seq_rm(self._memory, slot.seq, keep, -1)
        del slot.kv[keep:]
        slot.request, slot.pending, slot.cached = request, tokens[keep:], keep
        slot.output, slot.pieces, slot.prompt_seconds = [], [], 0.0
        slot.started = time.perf_counter()
        slot.grammar = grammar
        slot.rng = np.random.default_rng(request.sampling.seed) if request.sampling.temperature > 0 else None

    def _grammar(self, gbnf: str) -> Any:
        sampler = llama_cpp.llama_sampler_init_grammar(self._vocab, gbnf.encode("utf-8"), b"root")
        if not sampler:
            raise GenerationError("llama.cpp could not parse the grammar built from the review schema")
        return sampler

    def _step(self) -> None:
        """One llama_decode over every busy slot, then sampling for each slot with logits."""
        rows: list[tuple[_Slot, int]] = []  # slots that get logits, with their batch row
        reading: list[_Slot] = []
        n = 0
        for slot in self._slots:
            if slot.busy and not slot.pending:
                self._add(n, slot.output[-1], len(slot.kv), slot.seq, True)
                slot.kv.append(slot.output[-1])
                rows.append((slot, n))
                n += 1
        for slot in self._slots:
            if slot.busy and slot.pending and n < self._n_batch:
                chunk = slot.pending[: self._n_batch - n]
                del slot.pending[: len(chunk)]
                for i, token in enumerate(chunk):
                    last = not slot.pending and i == len(chunk) - 1
                    self._add(n, token, len(slot.kv), slot.seq, last)
                    slot.kv.append(token)
                    if last:
                        rows.append((slot, n))
                    n += 1
                reading.append(slot)
        self._batch.n_tokens = n
        start = time.perf_counter()
        rc = llama_cpp.llama_decode(self.ctx, self._batch)
        if rc != 0:
            raise GenerationError(f"llama_decode failed with status {rc}")
        seconds = time.perf_counter() - start
        for slot in reading:
            slot.prompt_seconds += seconds
        for slot, row in rows:
            self._sample(slot, row)

    def _add(self, i: int, token: int, pos: int, seq: int, logits: bool) -> None:
        b = self._batch
        b.token[i], b.pos[i], b.n_seq_id[i], b.logits[i] = token, pos, 1, logits
        b.seq_id[i][0] = seq

    def _sample(self, slot: _Slot, row: int) -> None:
        request = slot.request
        assert request is not None
        logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(self.ctx, row), shape=(self.n_vocab,)).copy()
        _penalise(logits, slot.kv[-_PENALTY_WINDOW:], request.sampling.repeat_penalty)  # kv ends with the output
        token = self._choose(slot, logits)
        if llama_cpp.llama_vocab_is_eog(self._vocab, token):
            self._complete(slot, "stop")  # the grammar allowed the end: it is not fed to the grammar
            return
        if slot.grammar is not None:
            llama_cpp.llama_sampler_accept(slot.grammar, token)
        slot.output.append(token)
        slot.pieces.append(self._piece(token))
        finish = self._limit_reason(slot)
        if finish is not None:
            self._complete(slot, finish)

    def _choose(self, slot: _Slot, logits: np.ndarray) -> int:
        """Sample, then make the grammar agree: the choice alone, the top few, the whole vocabulary.

        Under greedy sampling each stage gives the full check's token: the best token the
        grammar allows among the top candidates is the best it allows at all.
        """
        token = self._pick(slot, logits)
        if slot.grammar is None:
            return token
        if self.sample_first:
            if self._allowed(slot.grammar, token, logits):
                return token
            top = np.argpartition(logits, -_TOP_CHECK)[-_TOP_CHECK:]
            cand = np.zeros(len(top), dtype=_TOKEN_DTYPE)
            cand["id"], cand["logit"] = top, logits[top]
            self._apply(slot.grammar, cand)
            if np.isfinite(cand["logit"]).any():
                masked = np.full_like(logits, -np.inf)
                masked[top] = cand["logit"]
                return self._pick(slot, masked)
        self.full_checks += 1
        cand = self._candidates
        cand["logit"], cand["p"] = logits, 0.0
        self._apply(slot.grammar, cand)
        return self._pick(slot, cand["logit"].copy())

    def _pick(self, slot: _Slot, logits: np.ndarray) -> int:
        request = slot.request
        assert request is not None
        temperature = request.sampling.temperature
        if temperature <= 0 or slot.rng is None:
            return int(logits.argmax())
        top = np.argpartition(logits, -_TOP_K)[-_TOP_K:]
        top = top[np.isfinite(logits[top])]
        weights = np.exp((logits[top] - logits[top].max()) / temperature)
        return int(slot.rng.choice(top, p=weights / weights.sum()))

    def _allowed(self, grammar: Any, token: int, logits: np.ndarray) -> bool:
        one = np.array([(token, logits[token], 0.0)], dtype=_TOKEN_DTYPE)
        self._apply(grammar, one)
        return bool(np.isfinite(one["logit"][0]))

    @staticmethod
    def _apply(grammar: Any, cand: np.ndarray) -> None:
        array = llama_cpp.llama_token_data_array(
            data=cand.ctypes.data_as(llama_cpp.llama_token_data_p), size=len(cand), selected=-1, sorted=False
        )
        llama_cpp.llama_sampler_apply(grammar, ctypes.byref(array))

    def _piece(self, token: int) -> bytes:
        """The bytes of one token; pieces are detokenized one by one, never the whole output again."""
        piece = self._pieces.get(token)
        if piece is None:
            size = 64
            while True:
                buffer = ctypes.create_string_buffer(size)
                n = llama_cpp.llama_token_to_piece(self._vocab, token, buffer, size, 0, False)
                if n >= 0:
                    break
                size = -n
            piece = self._pieces[token] = buffer.raw[:n]
        return piece

    def _limit_reason(self, slot: _Slot) -> str | None:
        request = slot.request
        assert request is not None
        if len(slot.output) >= request.max_tokens or len(slot.kv) + 1 >= self.n_ctx_seq:
            return "length"
        if request.deadline is not None and time.monotonic() > request.deadline:
            return "timeout"
        if len(slot.output) % 32 == 0 and _looping(slot.output):
            return "loop"
        return None

    def _complete(self, slot: _Slot, finish: str) -> None:
        request = slot.request
        assert request is not None
        text = b"".join(slot.pieces).decode("utf-8", errors="replace")
        generation = Generation(
            text=text,
            finish_reason=finish,
            prompt_tokens=len(request.tokens),
            cached_tokens=slot.cached,
            completion_tokens=len(slot.output),
            seconds=time.perf_counter() - slot.started,
            prompt_seconds=slot.prompt_seconds,
        )
        self._release(slot)
        request.future.set_result(generation)

    def _release(self, slot: _Slot) -> None:
        if slot.grammar is not None:
            llama_cpp.llama_sampler_free(slot.grammar)
        slot.request, slot.grammar, slot.pending = None, None, []

    def _fail_all(self, exc: BaseException) -> None:
        for slot in self._slots:
            if slot.request is not None:
                request = slot.request
                self._release(slot)
                slot.kv = []  # its stream's state is unknown now
                llama_cpp.llama_memory_seq_rm(self._memory, slot.seq, -1, -1)
                request.future.set_exception(exc)
        for request in self._waiting:
            request.future.set_exception(exc)
        self._waiting.clear()


def new_context(llm: Any, *, n_seq: int, n_ctx_seq: int, n_threads: int, n_threads_batch: int) -> Any:
    """A llama.cpp context of ``n_seq`` separate KV streams of ``n_ctx_seq`` tokens each.

    Separate streams (not one unified cache) keep each sequence's attention to its own
    tokens; llama.cpp runs one-token batches on ``n_threads``, larger ones on ``n_threads_batch``.
    """
    params = llama_cpp.llama_context_default_params()
    params.n_ctx, params.n_seq_max, params.kv_unified = n_ctx_seq * n_seq, n_seq, False
    params.n_batch = params.n_ubatch = N_BATCH
    params.n_threads, params.n_threads_batch = n_threads, n_threads_batch
    params.flash_attn_type = llama_cpp.LLAMA_FLASH_ATTN_TYPE_DISABLED  # slower generation on these CPUs
    params.no_perf = True
    ctx = llama_cpp.llama_init_from_model(llm._model.model, params)
    if not ctx:
        raise GenerationError(f"llama.cpp could not create a context for {n_seq} sequence(s) of {n_ctx_seq} tokens")
    return ctx


def _common(a: list[int], b: list[int]) -> int:
    """Length of the common start of two token lists."""
    n = min(len(a), len(b))
    if n == 0:
        return 0
    x, y = np.asarray(a[:n]), np.asarray(b[:n])
    diff = np.flatnonzero(x != y)
    return int(diff[0]) if len(diff) else n


def _penalise(logits: np.ndarray, recent: list[int], penalty: float) -> None:
    """llama.cpp's repeat penalty: shrink the logits of recently seen tokens."""
    if penalty == 1.0 or not recent:
        return
    ids = np.unique(np.asarray(recent))
    values = logits[ids]
    logits[ids] = np.where(values > 0, values / penalty, values * penalty)


def _looping(output: list[int], window: int = 256, repeats: int = 4) -> bool:
    """Whether the output ends in one short block repeated ``repeats`` times (a small model's loop)."""
    tail = output[-window:]
    for period in range(4, len(tail) // repeats + 1):
        block = tail[-period:]
        if all(tail[-(k + 1) * period : len(tail) - k * period] == block for k in range(1, repeats)):
            return True
    return False
