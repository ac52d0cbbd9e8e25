"""The report of a large store: a small first page, and every case reachable through relative links."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from evaluator.reports.html import PAGE_CASES, write_report
from evaluator.reports.synthetic import write_synthetic
from evaluator.store import query


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("large") / "e.duckdb"
    write_synthetic(db, cases=2 * PAGE_CASES + 37, reviews_per_case=4)
    return db


def hrefs(html: str) -> list[str]:
    return re.findall(r'href="([^"]+)"', html)


def test_the_generator_writes_cases_times_nights_reviews_in_runs(large: Path) -> None:
    [(reviews, cases, runs, failed, findings)] = query(
        large,
        "SELECT count(*), count(DISTINCT case_key), count(DISTINCT run_id), count(*) FILTER (status = 'failed'), "
        "(SELECT count(*) FROM findings) FROM reviews",
    )[1]
    assert (reviews, cases, runs) == (237 * 4, 237, 4)
    assert 0 < failed < reviews // 50 and findings == 3 * (reviews - failed)
    [(markdown,)] = query(large, "SELECT markdown FROM reviews WHERE status = 'ok' LIMIT 1")[1]
    assert markdown.startswith("# Technical Design Review: ") and "## Implementation Readiness Checklist" in markdown


def test_every_case_is_reachable_from_the_first_page(large: Path, tmp_path: Path) -> None:
    result = write_report(large, tmp_path / "out" / "report.html")
    assert (result.cases, result.pages) == (237, 3) and result.folder == tmp_path / "out" / "report_files"
    index = result.path.read_text()
    assert result.size_bytes == len(index.encode()) < result.total_bytes / 3
    pages = sorted({h.split("#")[0] for h in hrefs(index) if h.startswith("report_files/")})
    assert pages == [f"report_files/page-{k:04d}.html" for k in (1, 2, 3)]
    assert index.count('<tr>\n      <td><a class="key"') == PAGE_CASES  # the first page lists one page of cases

    keys = {key for (key,) in query(large, "SELECT DISTINCT case_key FROM latest_reviews")[1]}
    found: list[str] = []
    for page in pages:
        html = (result.path.parent / page).read_text()
        found += re.findall(r'<div class="case" id="case-\d+">\s*<h3><span class="key">([^<]+)</span>', html)
        for href in hrefs(html):  # every relative link of a page leads to a file that exists
            target = href.split("#")[0]
            assert not target or (result.path.parent / page).parent.joinpath(target).resolve().is_file(), href
        assert html.count('<article class="review"') == html.count('<div class="case"')
    assert sorted(found) == sorted(keys) and len(found) == len(set(found))


def test_a_smaller_report_removes_the_pages_it_no_longer_has(large: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    write_report(large, out)
    (tmp_path / "report_files" / "page-0099.html").write_text("stale")
    write_report(large, out)
    assert sorted(p.name for p in (tmp_path / "report_files").iterdir()) == [f"page-{k:04d}.html" for k in (1, 2, 3)]
