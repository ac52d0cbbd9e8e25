"""One real-model batch on the session's local Ray cluster, two actors: the rows match the thread executor's.

A small dataset of two requirements groups (one short design each, from two sample
datasets) is reviewed greedily once on this process's threads and once by two Ray actors,
one model each, one case at a time. Each group goes to one actor; the two stores hold the
same cache keys and the same reviews. (Which actor takes which group is tested with the
fake in tests/batch/test_ray.py.)
"""

from __future__ import annotations

import shutil
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from evaluator.backends import ModelOptions, backend_factory
from evaluator.batch import BatchOptions, run_batch
from evaluator.batch.cases import discover
from evaluator.batch.ray_executor import RayExecutor
from evaluator.store import query
from tests.support.data import DATASETS

pytestmark = [pytest.mark.model, pytest.mark.ray]
CASES = {"clinic-appointments": "double-booking", "parcel-delivery": "no-observability"}
COLUMNS = "case_key, status, cache_key, markdown, review_json::JSON->>'findings' AS findings"


def _rows(db: Path) -> list[tuple[Any, ...]]:
    return query(db, f"SELECT {COLUMNS} FROM reviews ORDER BY case_key")[1]


def test_two_ray_actors_store_exactly_the_rows_the_thread_batch_stores(tmp_path: Path, ray_cluster: Any) -> None:
    data = tmp_path / "data"
    for dataset, name in CASES.items():
        (data / dataset / name).mkdir(parents=True)
        shutil.copy(DATASETS / dataset / "requirements.md", data / dataset / "requirements.md")
        shutil.copy(DATASETS / dataset / name / "tech-design.md", data / dataset / name / "tech-design.md")
    cases = discover(data)
    model = ModelOptions()
    threads = run_batch(cases, BatchOptions(db=tmp_path / "threads.duckdb"), backend=backend_factory(model))
    on_ray = run_batch(
        cases,
        BatchOptions(db=tmp_path / "ray.duckdb"),
        backend=backend_factory(model),
        executor=RayExecutor(partial(backend_factory, model), workers=2),
    )

    assert threads.count("ok") == on_ray.count("ok") == len(CASES)
    expected, got = _rows(tmp_path / "threads.duckdb"), _rows(tmp_path / "ray.duckdb")
    assert [r[2] for r in got] == [r[2] for r in expected]  # the same cache keys
    assert got == expected  # and the same greedy reviews
    assert all(r[3] and r[4] for r in expected)
