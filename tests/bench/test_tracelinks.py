"""The trace-link benchmark on the vendored REFSQ'25 req2req sets (datasets/trace-links, MIT)."""

from __future__ import annotations

from pathlib import Path

import pytest

from evaluator.bench.tracelinks import (
    find_sets,
    read_artefacts,
    read_published,
    requirements_markdown,
    run_benchmark,
    scores,
)
from evaluator.documents.requirements import parse_requirements
from evaluator.errors import CaseError
from tests.support.data import DATASETS

PACKAGE = DATASETS / "trace-links"
SIZES = {"CM1-NASA": (22, 53, 45), "dronology": (99, 211, 220), "GANNT": (17, 69, 68), "ModisDataset": (19, 49, 41),
         "WARC": (63, 89, 136)}  # fmt: skip


@pytest.mark.parametrize("name", sorted(SIZES))
def test_every_requirement_of_every_set_is_read_under_its_own_id(name: str) -> None:
    sources = read_artefacts(PACKAGE / name / "high")
    read = parse_requirements(requirements_markdown(name, sources))
    assert [r.id for r in read] == list(sources)  # FR01, SRS5.12.2.1, SDP5.2-4.3, r1, RE-8 …
    assert all(r.text for r in read)


def test_the_benchmark_beats_the_published_tf_idf_on_every_set_with_one_configuration() -> None:
    results = {r.name: r for r in run_benchmark(PACKAGE)}
    assert {n: (r.requirements, r.design_elements, r.gold) for n, r in results.items()} == SIZES
    for name, result in results.items():
        assert result.own_id == result.requirements == result.parsed
        published = result.published["TF-IDF"].f1
        assert published is not None and result.scores.f1 is not None
        assert result.scores.f1 >= published, name
    assert (results["dronology"].scores.f1 or 0) >= 0.58  # above GPT-4o CoT's 0.575


def test_published_rows_are_read_from_the_package() -> None:
    published = read_published(PACKAGE)
    assert published["dronology"]["TF-IDF"].f1 == 0.519
    assert published["dronology"]["embeddings top-4"].recall == 0.695
    assert published["dronology"]["best LLM"].f1 == 0.575
    assert published["ModisDataset"]["best LLM"].f1 == 0.268  # KISS codellama, not GPT-4o


def test_scores_are_micro_over_links() -> None:
    gold = {("a", "1"), ("a", "2"), ("b", "3"), ("c", "4")}
    got = scores({("a", "1"), ("b", "3"), ("b", "9")}, gold)
    assert (got.precision, got.recall, got.f1, got.f2) == (0.667, 0.5, 0.571, 0.526)


def test_a_folder_without_sets_says_what_it_expected(tmp_path: Path) -> None:
    with pytest.raises(CaseError, match=r"expected folders with high/, low/ and answer\.csv"):
        find_sets(tmp_path)
