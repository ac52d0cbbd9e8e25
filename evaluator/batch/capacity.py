"""How many reviews to decode together, and what that costs in memory, before loading.

Each sequence slot has its own KV-cache stream of ``n_ctx`` tokens (f16 keys and values),
so memory grows linearly with ``--parallel``. ``auto`` takes the measured sweet spot for
the CPU count (``evaluator bench`` on a 2-vCPU machine: four sequences gave nearly all of
the batched throughput, eight added little), capped by the cases there are and by half
of the memory available now. The backend says what its weights and one slot take.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from evaluator.backends.base import MemoryNeeds
from evaluator.errors import CapacityError

_OVERHEAD = 300 * 2**20  # runtime, compute buffers, Python: what a single review needs beyond KV + model


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
        if not self.kv_bytes_per_seq:
            return f"parallel {self.parallel} ({self.n_ctx:,} tokens each)"
        have = f", {_mib(self.available_bytes)} available" if self.available_bytes else ""
        return (
            f"parallel {self.parallel}: KV cache {self.parallel} × {_mib(self.kv_bytes_per_seq)} "
            f"({self.n_ctx:,} tokens each) + model {_mib(self.model_bytes)} ≈ {_mib(self.needed_bytes)} of memory{have}"
        )


def plan_capacity(requested: int | None, memory: MemoryNeeds | None, n_ctx: int, cases: int) -> Capacity:
    """Resolve ``requested`` (None: auto) into a :class:`Capacity`; raise if it cannot fit.

    ``memory`` comes from the backend factory; None (a backend that loads nothing here)
    plans by CPUs and cases alone.
    """
    memory = memory or MemoryNeeds(0, 0)
    per_seq, model_bytes = memory.slot_bytes, memory.model_bytes
    available = available_memory() if per_seq else None
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
            f"decoding {parallel} cases together needs about {_mib(capacity.needed_bytes)} of memory but "
            f"{_mib(available)} is available — decode fewer together (or let it choose) or use a shorter context",
            settings=("parallel", "n_ctx"),
        )
    return capacity


def available_memory() -> int | None:
    """MemAvailable from /proc/meminfo, in bytes; None where there is no such file."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _mib(n: int) -> str:
    return f"{n / 2**30:.1f} GiB" if n >= 2**30 else f"{n / 2**20:.0f} MiB"
