"""Model backends behind one small interface; heavy imports happen only when one is opened."""

from __future__ import annotations

import os
from dataclasses import dataclass

from evaluator.backends.base import Backend, Generation, Sampling
from evaluator.models import ModelFile, resolve_model, verify

__all__ = ["Backend", "Generation", "ModelOptions", "Sampling", "open_backend"]


@dataclass(frozen=True)
class ModelOptions:
    """Which model to load and how."""

    model: str | None = None
    n_ctx: int | None = None
    threads: int | None = None
    parallel: int = 1  # sequences decoded together (batch --parallel)

    def resolve(self) -> ModelFile:
        """Locate and check the GGUF file (sha256 against the manifest where it has one)."""
        model = resolve_model(self.model)
        verify(model)
        return model


def default_threads() -> int:
    """llama.cpp's own default: half the logical CPUs (1 on a 2-vCPU machine)."""
    return max(1, (os.cpu_count() or 2) // 2)


def open_backend(options: ModelOptions) -> Backend:
    """Load the model described by ``options`` with the in-process llama.cpp backend."""
    model = options.resolve()
    from evaluator.backends.llama_cpp import LlamaCppBackend

    return LlamaCppBackend(
        model,
        n_ctx=options.n_ctx or model.n_ctx,
        n_threads=options.threads or default_threads(),
        parallel=options.parallel,
    )
