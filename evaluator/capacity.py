"""How many reviews to decode together, and what that costs in memory, before loading.

Each sequence slot has its own KV-cache stream of ``n_ctx`` tokens (f16 keys and values),
so memory grows linearly with ``--parallel``. ``auto`` takes the measured sweet spot for
the CPU count (``evaluator bench`` on a 2-vCPU machine: four sequences gave nearly all of
the batched throughput, eight added little), capped by the cases there are and by half
of the memory available now.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evaluator.errors import EvaluatorError

_OVERHEAD = 300 * 2**20  # runtime, compute buffers, Python: what a single review needs beyond KV + model


class CapacityError(EvaluatorError):
    """The requested parallelism does not fit this machine."""


@dataclass(frozen=True)
class Capacity:
    """The parallelism chosen for a run and the memory it needs."""

    parallel: int
    n_ctx: int
    kv_bytes_per_seq: int
    model_bytes: int
    available_bytes: int | None

    @property
    def needed_bytes(self) -> int:
        """Model + every sequence's KV cache + a fixed overhead."""
        return self.model_bytes + self.parallel * self.kv_bytes_per_seq + _OVERHEAD

    def describe(self) -> str:
        """One line for the user, printed before the model is loaded."""
        have = f", {_mib(self.available_bytes)} available" if self.available_bytes else ""
        return (
            f"parallel {self.parallel}: KV cache {self.parallel} × {_mib(self.kv_bytes_per_seq)} "
            f"({self.n_ctx:,} tokens each) + model {_mib(self.model_bytes)} ≈ {_mib(self.needed_bytes)} of memory{have}"
        )


def plan_capacity(requested: int | None, model_path: Path, n_ctx: int, cases: int) -> Capacity:
    """Resolve ``requested`` (None: auto) into a :class:`Capacity`; raise if it cannot fit."""
    per_seq = kv_bytes_per_token(_metadata(model_path)) * n_ctx
    model_bytes = model_path.stat().st_size
    available = available_memory()
    if requested is None:
        parallel = 4 if (os.cpu_count() or 2) <= 4 else 8
        if available:
            parallel = min(parallel, max(1, (available // 2 - model_bytes - _OVERHEAD) // per_seq))
        parallel = max(1, min(parallel, cases))
    else:
        parallel = requested
    capacity = Capacity(parallel, n_ctx, per_seq, model_bytes, available)
    if available and capacity.needed_bytes > available:
        raise CapacityError(
            f"--parallel {parallel} needs about {_mib(capacity.needed_bytes)} of memory but {_mib(available)} "
            "is available — use a smaller --parallel (or auto) or a smaller --n-ctx"
        )
    return capacity


def kv_bytes_per_token(metadata: dict[str, Any]) -> int:
    """f16 key + value bytes one token takes in the KV cache, from GGUF metadata."""
    arch = metadata.get("general.architecture", "llama")
    layers = int(metadata.get(f"{arch}.block_count", 0))
    heads = int(metadata.get(f"{arch}.attention.head_count", 1))
    kv_heads = int(metadata.get(f"{arch}.attention.head_count_kv", heads))
    embd = int(metadata.get(f"{arch}.embedding_length", 0))
    return 2 * layers * kv_heads * (embd // heads) * 2


def available_memory() -> int | None:
    """MemAvailable from /proc/meminfo, in bytes; None where there is no such file."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _metadata(model_path: Path) -> dict[str, Any]:
    import llama_cpp
    from llama_cpp._internals import LlamaModel

    params = llama_cpp.llama_model_default_params()
    params.vocab_only = True  # metadata and vocabulary only: no weights, no context
    model = LlamaModel(path_model=str(model_path), params=params, verbose=False)
    try:
        return dict(model.metadata())
    finally:
        model.close()


def _mib(n: int) -> str:
    return f"{n / 2**30:.1f} GiB" if n >= 2**30 else f"{n / 2**20:.0f} MiB"
