"""The ``llama-cpp`` backend's factory: a local GGUF file, located, checked and sized before loading.

Nothing heavy is imported here until a model is opened (or its metadata read), so that
listing, planning and a fully cached batch stay fast.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evaluator.backends.base import MemoryNeeds, ModelInfo, ModelOptions
from evaluator.backends.catalogue import ModelFile, resolve_model, verify

if TYPE_CHECKING:
    from evaluator.backends.llama_cpp import LlamaCppBackend

KIND = "llama-cpp"


def default_threads() -> int:
    """llama.cpp's own default: half the logical CPUs (1 on a 2-vCPU machine)."""
    return max(1, (os.cpu_count() or 2) // 2)


def runtime_version() -> str | None:
    """The installed llama-cpp-python's version, read without importing it."""
    try:
        return version("llama-cpp-python")
    except PackageNotFoundError:  # pragma: no cover - it is a dependency
        return None


@dataclass
class GGUFFactory:
    """Opens :class:`~evaluator.backends.llama_cpp.LlamaCppBackend` on the model ``options`` names."""

    options: ModelOptions
    _model: ModelFile | None = field(default=None, init=False, repr=False)
    _digest: str | None = field(default=None, init=False, repr=False)

    def model_file(self) -> ModelFile:
        """The located GGUF file (raises ModelError if there is none), checked against the manifest once."""
        if self._model is None:
            model = resolve_model(self.options.model)
            self._digest = verify(model)
            self._model = model
        return self._model

    @property
    def n_ctx(self) -> int:
        """Context tokens per sequence: the option, else the model's own."""
        return self.options.n_ctx or self.model_file().n_ctx

    def model_info(self) -> ModelInfo:
        """Name, sha256 and context of the file; never loads it."""
        model = self.model_file()
        return ModelInfo(model.name, self._digest, self.n_ctx, KIND, runtime_version())

    def memory(self) -> MemoryNeeds:
        """The file's size, and the f16 KV cache of one slot from its metadata (no weights loaded)."""
        path = self.model_file().path
        return MemoryNeeds(path.stat().st_size, kv_bytes_per_token(gguf_metadata(path)) * self.n_ctx)

    @contextmanager
    def open(self, parallel: int = 1) -> Iterator[LlamaCppBackend]:
        """Load the model with ``parallel`` sequence slots; free it when the context exits."""
        from evaluator.backends.llama_cpp import LlamaCppBackend

        backend = LlamaCppBackend(
            self.model_file(),
            self.model_info(),
            n_threads=self.options.threads or default_threads(),
            parallel=parallel,
            n_gpu_layers=self.options.n_gpu_layers,
        )
        try:
            yield backend
        finally:
            backend.close()


def kv_bytes_per_token(metadata: dict[str, Any]) -> int:
    """f16 key + value bytes one token takes in the KV cache, from GGUF metadata."""
    arch = metadata.get("general.architecture", "llama")
    layers = int(metadata.get(f"{arch}.block_count", 0))
    heads = int(metadata.get(f"{arch}.attention.head_count", 1))
    kv_heads = int(metadata.get(f"{arch}.attention.head_count_kv", heads))
    embd = int(metadata.get(f"{arch}.embedding_length", 0))
    return 2 * layers * kv_heads * (embd // heads) * 2


def gguf_metadata(model_path: Path) -> dict[str, Any]:
    """A GGUF file's metadata, read with its vocabulary only: no weights, no context."""
    import llama_cpp
    from llama_cpp._internals import LlamaModel

    params = llama_cpp.llama_model_default_params()
    params.vocab_only = True
    model = LlamaModel(path_model=str(model_path), params=params, verbose=False)
    try:
        return dict(model.metadata())
    finally:
        model.close()
