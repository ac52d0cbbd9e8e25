"""The llama.cpp embedder the trace linker takes (evaluator.backends.embeddings)."""

from __future__ import annotations

from pathlib import Path

import pytest

from evaluator.backends.embeddings import LlamaEmbedder, _pooled
from evaluator.errors import ModelError


def test_a_missing_model_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"embedding model not found: .*nope\.gguf — give the path"):
        LlamaEmbedder(tmp_path / "nope.gguf")


def test_a_file_that_is_not_gguf_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "model.gguf"
    path.write_bytes(b"not a model")
    with pytest.raises(ModelError, match="not a GGUF model file"):
        LlamaEmbedder(path)


def test_per_token_vectors_are_averaged() -> None:
    assert _pooled([[1.0, 3.0], [3.0, 5.0]]) == [2.0, 4.0]
    assert _pooled([0.5, 1.5]) == [0.5, 1.5]


@pytest.mark.model
def test_the_embedded_gguf_gives_one_vector_per_text_through_llama_cpp() -> None:
    from evaluator.backends.catalogue import resolve_model

    embedder = LlamaEmbedder(resolve_model(None).path, n_threads=1)
    try:
        texts = ["The consumer retries with backoff.", "Failed messages go to a dead-letter topic.", "x " * 2000]
        vectors = embedder.embed(texts)
        assert len(vectors) == 3 and len({len(v) for v in vectors}) == 1 and len(vectors[0]) > 100
        assert embedder.embed(texts[:1]) == vectors[:1]  # deterministic; the long text was cut to the context
    finally:
        embedder.close()
