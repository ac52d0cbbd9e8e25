"""The in-process backend: llama-cpp-python with a GGUF file, output under a JSON grammar.

The grammar is built with ``LlamaGrammar.from_json_schema`` (which raises on a schema it
cannot convert) rather than ``response_format`` (which silently falls back to any JSON).
The chat template comes from the GGUF metadata and is applied here, so the exact prompt
tokens are known: that is how cached (prefix-reused) tokens are counted.
"""

from __future__ import annotations

import json
import time
from typing import Any

import llama_cpp
from llama_cpp import Llama, LlamaGrammar, StoppingCriteriaList
from llama_cpp.llama_chat_format import Jinja2ChatFormatter

from evaluator.backends.base import Generation, Sampling
from evaluator.errors import ContextError, GenerationError, ModelError
from evaluator.models import ModelFile
from evaluator.prompts import Message


class LlamaCppBackend:
    """One loaded model. Not safe for concurrent calls: use one per process."""

    def __init__(self, model: ModelFile, *, n_ctx: int, n_threads: int | None = None) -> None:
        self.name = model.name
        self.n_ctx = n_ctx
        try:
            self._llm = Llama(
                model_path=str(model.path),
                n_ctx=n_ctx,
                n_threads=n_threads,
                n_batch=512,
                n_ubatch=512,
                flash_attn=False,  # slower generation on these CPUs (shared/DESIGN.md)
                verbose=False,
            )
        except (ValueError, RuntimeError) as exc:
            raise ModelError(f"llama.cpp could not load {model.path}: {exc} — is it a complete GGUF file?") from None
        self._formatter = self._chat_formatter(model)
        self._grammars: dict[str, LlamaGrammar] = {}

    def _chat_formatter(self, model: ModelFile) -> Jinja2ChatFormatter:
        template = self._llm.metadata.get("tokenizer.chat_template")
        if not template:
            raise ModelError(f"{model.path} has no chat template in its metadata — use an instruction-tuned GGUF")
        eos, bos = self._llm.token_eos(), self._llm.token_bos()
        text = self._llm._model.token_get_text
        return Jinja2ChatFormatter(
            template=template,
            eos_token=text(eos) if eos != -1 else "",
            bos_token=text(bos) if bos != -1 else "",
            stop_token_ids=[eos],
        )

    def tokenize_messages(self, messages: list[Message]) -> tuple[list[int], list[str]]:
        """Prompt tokens (chat template applied) and the stop strings for these messages."""
        formatted = self._formatter(messages=messages)  # type: ignore[arg-type]
        tokens = self._llm.tokenize(formatted.prompt.encode("utf-8"), add_bos=not formatted.added_special, special=True)
        stop = formatted.stop if isinstance(formatted.stop, list) else [formatted.stop] if formatted.stop else []
        return tokens, stop

    def count_tokens(self, messages: list[Message]) -> int:
        """Prompt tokens for these messages, chat template included."""
        return len(self.tokenize_messages(messages)[0])

    def generate(
        self,
        messages: list[Message],
        *,
        schema: dict[str, Any] | None,
        max_tokens: int,
        sampling: Sampling,
        deadline: float | None = None,
    ) -> Generation:
        """Generate JSON constrained by ``schema``; ``finish_reason`` is 'length' if cut off."""
        tokens, stop = self.tokenize_messages(messages)
        if len(tokens) + max_tokens > self.n_ctx:
            raise ContextError(
                f"prompt ({len(tokens)} tokens) plus max_tokens ({max_tokens}) exceed the {self.n_ctx}-token context"
            )
        cached = min(self._cached_prefix(tokens), len(tokens) - 1)
        llama_cpp.llama_perf_context_reset(self._llm.ctx)
        start = time.perf_counter()
        out: Any = self._llm.create_completion(
            prompt=tokens,
            grammar=self._grammar(schema) if schema is not None else None,  # None: unconstrained (bench)
            max_tokens=max_tokens,
            temperature=sampling.temperature,
            seed=sampling.seed,
            repeat_penalty=sampling.repeat_penalty,
            stop=stop,
            stopping_criteria=_deadline(deadline),
        )
        seconds = time.perf_counter() - start
        prompt_seconds = llama_cpp.llama_perf_context(self._llm.ctx).t_p_eval_ms / 1000
        choice, usage = out["choices"][0], out["usage"]
        finish = choice["finish_reason"] or "stop"
        if deadline is not None and time.monotonic() > deadline and finish != "length":
            finish = "timeout"
        return Generation(
            text=choice["text"],
            finish_reason=finish,
            prompt_tokens=usage["prompt_tokens"],
            cached_tokens=max(cached, 0),
            completion_tokens=usage["completion_tokens"],
            seconds=seconds,
            prompt_seconds=prompt_seconds,
        )

    @property
    def llama(self) -> Llama:
        """The loaded model, for measurements with the low-level API (``evaluator bench``)."""
        return self._llm

    def _cached_prefix(self, tokens: list[int]) -> int:
        n = 0
        for a, b in zip(self._llm._input_ids, tokens, strict=False):
            if a != b:
                break
            n += 1
        return n

    def _grammar(self, schema: dict[str, Any]) -> LlamaGrammar:
        key = json.dumps(schema, sort_keys=True)
        if key not in self._grammars:
            try:
                self._grammars[key] = LlamaGrammar.from_json_schema(key, verbose=False)
            except Exception as exc:  # the converter raises bare Exceptions
                raise GenerationError(f"cannot build a grammar from the review schema: {exc}") from None
        return self._grammars[key]

    def close(self) -> None:
        """Free the model and its context."""
        self._llm.close()


def _deadline(deadline: float | None) -> StoppingCriteriaList | None:
    if deadline is None:
        return None
    return StoppingCriteriaList([lambda _ids, _logits: time.monotonic() > deadline])
