"""The in-process backend: llama-cpp-python with a GGUF file, output under a JSON grammar.

The grammar is built with ``LlamaGrammar.from_json_schema`` (which raises on a schema it
cannot convert) rather than ``response_format`` (which silently falls back to any JSON).
The chat template comes from the GGUF metadata and is applied here, so the exact prompt
tokens are known. Generation runs on the batched :class:`DecodeEngine`: calls from several
threads at once are decoded together, one sequence slot each (``parallel``).
"""

from __future__ import annotations

import json
from typing import Any

from llama_cpp import Llama, LlamaGrammar
from llama_cpp.llama_chat_format import Jinja2ChatFormatter

from evaluator.backends.base import Generation, Message, ModelInfo, Sampling
from evaluator.backends.catalogue import ModelFile
from evaluator.backends.engine import DecodeEngine, Request
from evaluator.errors import ContextError, GenerationError, ModelError


class LlamaCppBackend:
    """One loaded model; ``generate`` may be called from ``parallel`` threads at once."""

    def __init__(
        self,
        model: ModelFile,
        info: ModelInfo,
        *,
        n_threads: int | None = None,
        n_threads_batch: int | None = None,
        parallel: int = 1,
        n_gpu_layers: int = 0,
    ) -> None:
        self.name = model.name
        self.n_ctx = info.n_ctx  # per sequence
        self.parallel = parallel
        self._info = info  # what the factory located and hashed: the cache keys' model
        try:
            # This Llama object's own context stays tiny: it serves the tokenizer and metadata.
            # n_gpu_layers places the weights; the engine's contexts share this model (a CPU build ignores it).
            self._llm = Llama(
                model_path=str(model.path),
                n_ctx=64,
                n_batch=64,
                n_ubatch=64,
                n_gpu_layers=n_gpu_layers,
                verbose=False,
            )
        except (ValueError, RuntimeError) as exc:
            raise ModelError(f"llama.cpp could not load {model.path}: {exc} — is it a complete GGUF file?") from None
        self.n_params = int(self._llm._model.n_params())  # the reviewer asks a model of >= 1B for findings
        self._formatter = self._chat_formatter(model)
        self._grammars: dict[str, str] = {}
        threads = n_threads or self._llm.n_threads
        self._closed = False
        self.engine = DecodeEngine(
            self._llm,
            n_seq=parallel,
            n_ctx_seq=info.n_ctx,
            n_threads=threads,
            n_threads_batch=n_threads_batch or max(threads, self._llm.n_threads_batch),
        )

    @property
    def info(self) -> ModelInfo:
        """Name, sha256 (when the opener knew it), context per sequence, llama-cpp-python's version."""
        return self._info

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
        """Generate JSON constrained by ``schema`` (None: unconstrained); see :class:`Backend`."""
        tokens, _stop = self.tokenize_messages(messages)  # the chat template's stop is an end-of-generation token
        if len(tokens) + max_tokens > self.n_ctx:
            raise ContextError(
                f"prompt ({len(tokens)} tokens) plus max_tokens ({max_tokens}) exceed the {self.n_ctx}-token context"
            )
        grammar = self._grammar(schema) if schema is not None else None
        request = Request(tokens, grammar, max_tokens, sampling, deadline)
        return self.engine.submit(request).result()

    @property
    def llama(self) -> Llama:
        """The loaded model, for its tokenizer and metadata (``evaluator bench``)."""
        return self._llm

    def _grammar(self, schema: dict[str, Any]) -> str:
        key = json.dumps(schema, sort_keys=True)
        if key not in self._grammars:
            try:
                self._grammars[key] = LlamaGrammar.from_json_schema(key, verbose=False)._grammar
            except Exception as exc:  # the converter raises bare Exceptions
                raise GenerationError(f"cannot build a grammar from the review schema: {exc}") from None
        return self._grammars[key]

    def close(self) -> None:
        """Stop the engine and free the model and its contexts; a second call does nothing."""
        if self._closed:
            return
        self._closed = True
        self.engine.close()
        self._llm.close()
