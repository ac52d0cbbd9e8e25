"""The report in a real browser: the system Chromium, headless, with every network request refused.

`make test` installs Chromium (Debian's package) when /usr/bin/chromium is missing; playwright
only drives it and never downloads a browser of its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, Route, sync_playwright

from evaluator.reports.html import PAGE_CASES, write_report
from evaluator.reports.synthetic import write_synthetic
from tests.support.report_helpers import HOSTILE, batch, save_review, write_cases

pytestmark = pytest.mark.browser
CHROMIUM = Path("/usr/bin/chromium")
OFFLINE_FLAGS = [
    "--headless",
    "--no-sandbox",  # the tests run as root in CI containers
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class Visit:
    """What the page did while it was open."""

    requests: list[str] = field(default_factory=list)
    aborted: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)  # dialogs, console messages, page errors


@pytest.fixture(scope="module")
def browser_context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing — run `make browser` (it installs Debian's chromium package)")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            tmp_path_factory.mktemp("chromium-profile"),  # a fresh user-data-dir
            executable_path=str(CHROMIUM),
            headless=True,
            args=OFFLINE_FLAGS,
            viewport={"width": 1280, "height": 900},
        )
        yield context
        context.close()


def _open(context: BrowserContext, report: Path) -> tuple[Page, Visit]:
    visit = Visit()

    def refuse_network(route: Route) -> None:
        if route.request.url.startswith(("file:", "data:")):
            route.continue_()
        else:
            visit.aborted.append(route.request.url)
            route.abort()

    page = context.new_page()
    page.route("**/*", refuse_network)
    page.on("request", lambda request: visit.requests.append(request.url))
    page.on("dialog", lambda dialog: (visit.events.append(f"dialog {dialog.message}"), dialog.dismiss()))
    page.on("console", lambda message: visit.events.append(f"console {message.text}"))
    page.on("pageerror", lambda error: visit.events.append(f"error {error}"))
    page.goto(report.as_uri())
    page.wait_for_load_state("load")
    return page, visit


def test_report_renders_offline_with_its_content(tmp_path: Path, browser_context: BrowserContext) -> None:
    folder, db = tmp_path / "cases", tmp_path / "e.duckdb"
    write_cases(folder, {"pay/a": (6, 5), "pay/b": (4, 3), "ship/c": (8, 8)})
    batch(folder, db)
    write_cases(folder, {"pay/b": (7, 6)})  # a new revision of one design, then a second run
    batch(folder, db)
    save_review(db, "pay/a/tech-design.md", model="other-model", scores=(9, 7))
    report = write_report(db, tmp_path / "report.html").path

    page, visit = _open(browser_context, report)
    shot = page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    text = page.inner_text("body")

    assert shot[:8] == b"\x89PNG\r\n\x1a\n" and len(shot) > 50_000
    for expected in ("Latest run", "pay/b/tech-design.md", "(+3)", "By model", "other-model",
                     "Most frequent critical findings", "Card numbers stored in plain text", "docs/hour"):  # fmt: skip
        assert expected in text
    assert page.locator("svg").count() == 2 + 1 + 2  # trends of pay/a and pay/b, distribution, comparisons
    assert page.locator("script, img, iframe, link, object").count() == 0
    page.click("a[href='#review-2']")
    assert page.evaluate("location.hash") == "#review-2"
    assert page.locator("#review-2 h3").inner_text().startswith("Technical Design Review")
    assert visit.requests == [report.as_uri()] and visit.aborted == [] and visit.events == []
    page.close()


def test_markup_from_documents_and_models_is_shown_as_text(tmp_path: Path, browser_context: BrowserContext) -> None:
    db = tmp_path / "e.duckdb"
    save_review(db, "evil/tech-design.md", model="m<img src=x onerror=alert(3)>", title=HOSTILE, finding=HOSTILE)
    report = write_report(db, tmp_path / "report.html").path

    page, visit = _open(browser_context, report)
    text = page.inner_text("body")

    assert text.count(HOSTILE) >= 3  # the case heading, the findings table and the review itself
    assert page.locator("script, img").count() == 0
    assert page.evaluate("document.querySelectorAll('[onerror]').length") == 0
    assert visit.requests == [report.as_uri()] and visit.aborted == [] and visit.events == []
    page.close()


def test_a_large_report_opens_on_its_first_page_and_links_to_every_page(
    tmp_path: Path, browser_context: BrowserContext
) -> None:
    db = tmp_path / "e.duckdb"
    write_synthetic(db, cases=3 * PAGE_CASES, reviews_per_case=3)  # kept small for CI; see `make report-bench`
    result = write_report(db, tmp_path / "report.html")

    page, visit = _open(browser_context, result.path)
    assert page.locator("#pages li a").count() == result.pages == 3
    assert page.locator("#cases a.key").count() == PAGE_CASES
    page.click("#pages li:nth-child(2) a")
    page.wait_for_load_state("load")
    assert page.url.endswith("report_files/page-0002.html")
    assert page.locator("article.review h3").count() == PAGE_CASES
    assert page.locator("article.review h3").first.inner_text().startswith("Technical Design Review")
    page.click("text=Report summary")
    page.wait_for_load_state("load")
    assert page.url == result.path.as_uri()
    assert all(url.startswith("file:") for url in visit.requests) and visit.aborted == [] and visit.events == []
    page.close()
