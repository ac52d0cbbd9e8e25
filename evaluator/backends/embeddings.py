"""Embeddings from a GGUF embedding model through llama.cpp (``Llama(embedding=True)``), for the trace linker.

Nothing is downloaded: the user points at a GGUF file of an embedding model (e.g. a
nomic-embed, bge or e5 conversion). Texts longer than the context are cut to it (a design
passage rarely is); vectors are the model's pooled embeddings, one per text.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evaluator.backends.catalogue import check_gguf
from evaluator.errors import ModelError


class LlamaEmbedder:
    """One embedding model, loaded on creation; :meth:`embed` is the linker's ``Embedder`` protocol."""

    def __init__(self, model_path: Path, *, n_ctx: int = 512, n_threads: int | None = None) -> None:
        if not model_path.is_file():
            raise ModelError(f"embedding model not found: {model_path} — give the path of a GGUF embedding model")
        check_gguf(model_path)
        from llama_cpp import Llama

        try:
            self._llama: Any = Llama(
                model_path=str(model_path), embedding=True, n_ctx=n_ctx, n_threads=n_threads, verbose=False
            )
        except (ValueError, RuntimeError) as exc:
            raise ModelError(f"cannot load embedding model {model_path}: {exc} — is it a GGUF file?") from None
        self._limit = n_ctx - 8

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text, in order (a text is cut to the model's context first)."""
        vectors = []
        for text in texts:
            tokens = self._llama.tokenize(text.encode("utf-8"), add_bos=True)[: self._limit]
            cut = (
                self._llama.detokenize(tokens).decode("utf-8", errors="ignore") if len(tokens) >= self._limit else text
            )
            vector = self._llama.embed(cut or " ")
            vectors.append(_pooled(vector))
        return vectors

    def close(self) -> None:
        """Free the model."""
        close = getattr(self._llama, "close", None)
        if close is not None:
            close()


def _pooled(vector: Any) -> list[float]:
    """A model without pooling returns one vector per token: average them."""
    if vector and isinstance(vector[0], list):
        width = len(vector[0])
        return [sum(row[i] for row in vector) / len(vector) for i in range(width)]
    return [float(v) for v in vector]
