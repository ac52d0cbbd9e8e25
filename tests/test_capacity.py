"""How many cases to decode together, and the memory that takes, from the GGUF metadata."""

from __future__ import annotations

import pytest

from evaluator import capacity
from evaluator.capacity import CapacityError, kv_bytes_per_token, plan_capacity
from evaluator.models import resolve_model


def test_kv_bytes_per_token_from_metadata() -> None:
    meta = {
        "general.architecture": "llama",
        "llama.block_count": "30",
        "llama.attention.head_count": "9",
        "llama.attention.head_count_kv": "3",
        "llama.embedding_length": "576",
    }
    assert kv_bytes_per_token(meta) == 2 * 30 * 3 * 64 * 2  # K and V, f16, per layer and KV head


def test_auto_is_capped_by_the_cases_and_by_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    path = resolve_model(None).path
    monkeypatch.setattr(capacity, "available_memory", lambda: 64 * 2**30)
    assert plan_capacity(None, path, 8192, cases=2).parallel == 2
    assert plan_capacity(None, path, 8192, cases=100).parallel in (4, 8)
    monkeypatch.setattr(capacity, "available_memory", lambda: 2 * 2**30)  # half of it: 1 GiB
    assert plan_capacity(None, path, 8192, cases=100).parallel == 3  # (1024 - 94 - 300 MiB) // 180 MiB


def test_a_parallel_that_does_not_fit_is_refused_with_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(capacity, "available_memory", lambda: 2**30)
    with pytest.raises(CapacityError, match=r"--parallel 16 needs about 3\.\d GiB .* use a smaller --parallel"):
        plan_capacity(16, resolve_model(None).path, 8192, cases=100)
