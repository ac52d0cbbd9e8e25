"""How many cases to decode together, and the memory that takes, from what the backend says it needs."""

from __future__ import annotations

import pytest

from evaluator.backends import MemoryNeeds
from evaluator.backends.gguf import kv_bytes_per_token
from evaluator.batch import capacity
from evaluator.batch.capacity import plan_capacity
from evaluator.errors import CapacityError

# What the llama-cpp factory reports for the embedded SmolLM2-135M at 8,192 tokens: the file
# (94 MiB) and one slot's f16 KV cache (30 layers × 3 KV heads × 64 × 2 × 2 bytes × 8,192).
SMOLLM2 = MemoryNeeds(
    model_bytes=94 * 2**20,
    slot_bytes=kv_bytes_per_token(
        {
            "llama.block_count": 30,
            "llama.attention.head_count": 9,
            "llama.attention.head_count_kv": 3,
            "llama.embedding_length": 576,
        }
    )
    * 8192,
)


def test_kv_bytes_per_token_from_metadata() -> None:
    meta = {
        "general.architecture": "llama",
        "llama.block_count": "30",
        "llama.attention.head_count": "9",
        "llama.attention.head_count_kv": "3",
        "llama.embedding_length": "576",
    }
    assert kv_bytes_per_token(meta) == 2 * 30 * 3 * 64 * 2  # K and V, f16, per layer and KV head
    assert SMOLLM2.slot_bytes == 180 * 2**20


def test_auto_is_capped_by_the_cases_and_by_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(capacity, "available_memory", lambda: 64 * 2**30)
    assert plan_capacity(None, SMOLLM2, 8192, cases=2).parallel == 2
    assert plan_capacity(None, SMOLLM2, 8192, cases=100).parallel in (4, 8)
    monkeypatch.setattr(capacity, "available_memory", lambda: 2 * 2**30)  # half of it: 1 GiB
    assert plan_capacity(None, SMOLLM2, 8192, cases=100).parallel == 3  # (1024 - 94 - 300 MiB) // 180 MiB


def test_a_parallel_that_does_not_fit_is_refused_with_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(capacity, "available_memory", lambda: 2**30)
    with pytest.raises(
        CapacityError, match=r"decoding 16 cases together needs about 3\.\d GiB .* decode fewer"
    ) as info:
        plan_capacity(16, SMOLLM2, 8192, cases=100)
    assert info.value.settings == ("parallel", "n_ctx")


def test_a_backend_with_nothing_to_load_here_is_planned_by_cpus_and_cases(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(capacity, "available_memory", lambda: 2**20)  # would refuse any local model
    planned = plan_capacity(None, None, 4096, cases=3)
    assert (planned.parallel, planned.describe()) == (3, "parallel 3 (4,096 tokens each)")
    assert plan_capacity(16, None, 4096, cases=100).parallel == 16
