"""One real-model batch on the session's local Ray cluster: the rows match the thread executor's.

Two short designs sharing their requirements, reviewed greedily once on threads and once
by one Ray actor (one actor: two model processes on this 2-core machine only slow each
other down, see the README). Same cache keys, same reviews.
"""

from __future__ import annotations

import shutil
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from evaluator.backends import ModelOptions, backend_factory
from evaluator.batch import BatchOptions, run_batch
from evaluator.cases import discover
from evaluator.ray_executor import RayExecutor
from evaluator.store import query
from tests.conftest import DATASETS

pytestmark = [pytest.mark.model, pytest.mark.ray]
DESIGNS = ["sound", "double-booking"]
COLUMNS = "case_key, status, cache_key, markdown, review_json::JSON->>'findings' AS findings"


def _rows(db: Path) -> list[tuple[Any, ...]]:
    return query(db, f"SELECT {COLUMNS} FROM reviews ORDER BY case_key")[1]


def test_a_ray_batch_stores_exactly_the_rows_the_thread_batch_stores(tmp_path: Path, ray_cluster: Any) -> None:
    data = tmp_path / "clinic"
    data.mkdir()
    shutil.copy(DATASETS / "clinic-appointments" / "requirements.md", data / "requirements.md")
    for name in DESIGNS:
        (data / name).mkdir()
        shutil.copy(DATASETS / "clinic-appointments" / name / "tech-design.md", data / name / "tech-design.md")
    cases = discover(data)
    model = ModelOptions()
    threads = run_batch(cases, BatchOptions(db=tmp_path / "threads.duckdb"), backend=backend_factory(model))
    on_ray = run_batch(
        cases,
        BatchOptions(db=tmp_path / "ray.duckdb"),
        backend=backend_factory(model),
        executor=RayExecutor(partial(backend_factory, model), workers=1),
    )

    assert threads.count("ok") == on_ray.count("ok") == len(DESIGNS)
    expected = _rows(tmp_path / "threads.duckdb")
    assert [r[2] for r in expected] == [r[2] for r in _rows(tmp_path / "ray.duckdb")]  # cache keys
    assert _rows(tmp_path / "ray.duckdb") == expected
    assert all(r[3] for r in expected)
