"""Converted documents a reader can check: HTML reduced to its main content, PDF pages joined into
one text with its title, and every markdown line mapped back to its place in the source file."""

from __future__ import annotations

from pathlib import Path

import pytest

from evaluator.documents.pages import pages_text
from evaluator.documents.read import read_document
from evaluator.documents.sources import SourceMap, align, line_tokens
from tests.support.doc_fixtures import docx_bytes, pdf_pages, write_design

SITE = """<!doctype html>
<html><head><title>Checkout design</title><script>track()</script></head>
<body>
<a class="skip" href="#content">Skip to main content</a>
<header><div class="banner">Acme Engineering Wiki</div>
<nav><a href="/">Home</a> | <a href="/docs">Docs</a></nav></header>
<aside><h3>On this page</h3><ul><li>Sidebar link</li></ul></aside>
<main id="content"><article><header><h1>Checkout design</h1></header>
<h2>Payments</h2>
<p>The checkout service calls the payment provider with an idempotency key per order.</p>
<footer>Last edited by someone</footer></article></main>
<footer>© Acme · Privacy · Cookie settings</footer>
<script>window.analytics = 1</script>
</body></html>
"""


def test_html_keeps_only_the_main_content(tmp_path: Path) -> None:
    path = tmp_path / "tech-design.html"
    path.write_text(SITE)
    document = read_document(path)
    assert document.title == "Checkout design"
    assert "idempotency key per order" in document.text and "# Checkout design" in document.text
    for noise in ("Skip to main content", "Acme Engineering Wiki", "Home", "Sidebar", "Privacy", "Last edited",
                  "track", "analytics"):  # fmt: skip
        assert noise not in document.text, noise


def test_html_without_a_main_element_loses_its_banner_and_footer(tmp_path: Path) -> None:
    path = tmp_path / "tech-design.html"
    path.write_text(SITE.replace("<main id=\"content\">", "<div>").replace("</main>", "</div>").replace(
        "<article>", "<div>").replace("</article>", "</div>"))  # fmt: skip
    text = read_document(path).text
    assert "idempotency key per order" in text and "Acme Engineering Wiki" not in text and "Privacy" not in text


PAGES = [
    ["Payments Platform Design", "", "1. Overview", "The payment service stores each card",
     "token in the vault and never", "", "Page 1 of 3"],
    ["Payments Platform Design", "the card number itself, as the", "requirements demand.", "", "2. Data Model",
     "A ledger table holds entries.", "", "Page 2 of 3"],
    ["Payments Platform Design", "3. Operations", "Alerts page the on-call engineer.", "", "Page 3 of 3"],
]  # fmt: skip


def test_pdf_pages_are_one_text_with_sentences_joined_and_the_title_from_the_first_line(tmp_path: Path) -> None:
    path = tmp_path / "tech-design.pdf"
    path.write_bytes(pdf_pages(PAGES))
    document = read_document(path)
    assert document.title == "Payments Platform Design"  # it was "tech design", the file name
    lines = document.text.split("\n")
    # The sentence over the page break is one paragraph: no blank line, no page number, no running header.
    start = lines.index("token in the vault and never")
    assert lines[start + 1] == "the card number itself, as the"
    assert "Page 1 of 3" not in document.text and document.text.count("Payments Platform Design") == 1
    assert "\f" not in document.text
    assert document.source_map is not None
    assert document.source_map.describe(start + 1, start + 2) == "tech-design.pdf, pages 1–2"
    assert (
        document.source_map.describe(lines.index("Alerts page the on-call engineer.") + 1) == "tech-design.pdf, page 3"
    )


@pytest.mark.parametrize(
    ("page", "title"),
    [
        (["The design below explains how payments work in detail."], None),  # a sentence is no title
        (["12", "Checkout Service — Design"], "Checkout Service — Design"),  # a page number first
        (["March 3, 2026", "Design"], None),  # a date first: the text does not open with a title
    ],
)
def test_pdf_title_is_the_first_heading_like_line(page: list[str], title: str | None) -> None:
    assert pages_text("\n".join(page) + "\n\f")[2] == title


def test_a_page_that_ends_a_sentence_is_not_joined_to_the_next() -> None:
    text, _, _ = pages_text("Intro.\nThe end of a thought.\n\fNew paragraph here.\n\f")
    assert text == "Intro.\nThe end of a thought.\n\nNew paragraph here.\n"


@pytest.mark.parametrize("fmt", ["docx", "pdf", "html", "rst", "adoc"])
def test_every_line_of_a_converted_design_leads_to_its_words_in_the_source(tmp_path: Path, fmt: str) -> None:
    document = read_document(write_design(tmp_path, fmt))
    assert document.source_map is not None and document.source_map.name == f"tech-design.{fmt}"
    line = next(n for n, text in enumerate(document.text.split("\n"), 1) if "pan_number" in text)
    where = document.source_map.describe(line)
    assert where is not None
    assert {"docx": "paragraph 3", "pdf": "page 1", "html": "line 4", "rst": "line 8", "adoc": "line 5"}[fmt] in where


def test_a_markdown_file_has_no_source_map(tmp_path: Path) -> None:
    assert read_document(write_design(tmp_path, "md")).source_map is None


def test_alignment_sees_through_markup_on_both_sides() -> None:
    source = ".. note::\n\n   Keep ``retries`` at three.\n\nTitle\n=====\n\nThe *consumer* commits offsets.\n"
    markdown = "> **Note:** Keep retries at three.\n\n# Title\n\nThe consumer commits offsets.\n"
    positions = align(markdown, line_tokens(source))
    assert positions[:5] == [(1, 3), None, (5, 5), None, (8, 8)]  # "note" is on the directive's line
    mapped = SourceMap("x.rst", "line", tuple(positions))
    assert SourceMap.from_json(mapped.to_json()) == mapped
    assert mapped.describe(3, 5) == "x.rst, lines 5–8" and mapped.describe(2) is None


def test_word_paragraphs_count_table_cells_in_document_order(tmp_path: Path) -> None:
    path = tmp_path / "tech-design.docx"
    path.write_bytes(docx_bytes([("Heading1", "Loans"), ("", "First paragraph about retries and limits."),
                                 ("", "Second paragraph about the ledger table.")]))  # fmt: skip
    document = read_document(path)
    lines = document.text.split("\n")
    second = next(n for n, text in enumerate(lines, 1) if "ledger" in text)
    assert document.source_map is not None and document.source_map.describe(second) == "tech-design.docx, paragraph 3"
