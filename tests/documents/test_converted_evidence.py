"""Done when (issue 26): for one design of each converted format, every evidence quote is found in the
converted text that `evaluator show --converted` prints, and its source position leads to the same
words in the original file.

A real batch (fake model, real analyses) reviews a Word, PDF, HTML, reStructuredText and AsciiDoc
design; the quotes come from the stored findings and requirement coverage. The original is read
here on its own terms, not through the converter: source lines of the .rst/.adoc/.html file (tags
stripped), the ``w:p`` paragraphs of the .docx, pdfminer's text of the PDF's pages.
"""

from __future__ import annotations

import html
import json
import re
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import pytest
from typer.testing import CliRunner

from evaluator.cli.main import app
from evaluator.store import query
from tests.support.doc_fixtures import DESIGN_ADOC, DESIGN_RST, docx_bytes, pdf_pages

runner = CliRunner()
REQUIREMENTS = (
    "# Loan requirements\n\nFR-1: the service shall accept loan applications asynchronously and answer 202 "
    "Accepted.\n\nFR-2: personal data such as the PAN shall be encrypted at rest in every table and backup.\n"
)
PAN = "The pan_number column is stored in plain text in the applications table of Postgres."
API = "POST /v1/applications returns 202 Accepted and publishes an event to the credit topic."
HTML_PAGE = f"""<!doctype html>
<html><head><title>Loan API design</title></head>
<body><a href="#main">Skip to main content</a>
<header><nav><a href="/">Wiki home</a></nav></header>
<main id="main">
<h1>Loan API design</h1>
<p>Owners: the lending team.</p>
<h2>Data Model</h2>
<p>The applications table keeps every loan application
and its status.</p>
<p>{PAN}</p>
<h2>API Design</h2>
<p>{API}</p>
</main>
<footer>Company confidential</footer>
</body></html>
"""
PDF_PAGES = [
    ["Loan API design", "", "Owners: the lending team.", "", "Data Model", "The applications table keeps every",
     "loan application and"],
    ["its status.", "", PAN, "", "API Design", API, "", "2"],
]  # fmt: skip
DOCX = [
    ("Heading1", "Loan API design"),
    ("", "Owners: the lending team."),
    ("", "Reviewed by the platform group."),
    ("Heading2", "Data Model"),
    ("", "The applications table keeps every loan application and its status."),
    ("", PAN),
    ("Heading2", "API Design"),
    ("", API),
]
FORMATS = ("docx", "pdf", "html", "rst", "adoc")


def _designs(root: Path) -> None:
    (root / "requirements.md").parent.mkdir(parents=True, exist_ok=True)
    (root / "requirements.md").write_text(REQUIREMENTS)
    contents = {
        "docx": docx_bytes(DOCX),
        "pdf": pdf_pages(PDF_PAGES),
        "html": HTML_PAGE.encode(),
        "rst": DESIGN_RST.encode(),
        "adoc": DESIGN_ADOC.encode(),
    }
    for fmt, data in contents.items():
        (root / fmt).mkdir()
        (root / fmt / f"tech-design.{fmt}").write_bytes(data)


def _words(text: str) -> list[str]:
    return [w.lower() for w in re.findall(r"\w+", text)]


def _in_order(needle: list[str], haystack: list[str]) -> bool:
    """Whether ``needle``'s words appear in ``haystack`` in the same order (markup may sit between them)."""
    rest = iter(haystack)
    return all(any(word == other for other in rest) for word in needle)


def original(path: Path, unit: str, first: int, last: int) -> str:
    """The text of the source positions ``first``-``last`` of ``path``, read without the converter."""
    if unit == "L":
        lines = path.read_text(encoding="utf-8").split("\n")[first - 1 : last]
        text = "\n".join(lines)
        return html.unescape(re.sub(r"<[^>]+>", " ", text)) if path.suffix == ".html" else text
    if unit == "¶":
        w = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
        with zipfile.ZipFile(path) as archive:
            root = ElementTree.fromstring(archive.read("word/document.xml"))
        paragraphs = ["".join(t.text or "" for t in p.iter(f"{w}t")) for p in root.iter(f"{w}p")]
        return "\n".join(paragraphs[first - 1 : last])
    from pdfminer.high_level import extract_text

    return extract_text(path, page_numbers=list(range(first - 1, last)))


_SPAN = re.compile(r"^(?P<unit>L|¶|p\.)(?P<first>\d+)(?:–(?P<last>\d+))?$")


def _gutter(case: str, db: Path) -> tuple[list[str], dict[int, tuple[str, int, int]]]:
    """The converted text `show --converted --plain` prints, and each line's source span from `show --converted`."""
    plain = runner.invoke(app, ["show", case, "--db", str(db), "--converted", "--plain"])
    assert plain.exit_code == 0, plain.output
    numbered = runner.invoke(app, ["show", case, "--db", str(db), "--converted"])
    assert numbered.exit_code == 0, numbered.output
    spans = {}
    for row in numbered.stdout.splitlines():
        number, where, *_ = [*row.split(), "", ""]
        match = _SPAN.match(where)
        if match:
            spans[int(number)] = (match["unit"], int(match["first"]), int(match["last"] or match["first"]))
    return plain.stdout.split("\n"), spans


def _quotes(db: Path, case: str) -> list[tuple[str, int, int]]:
    """Every evidence quote of the case's latest review with its markdown lines: findings and coverage."""
    findings = query(
        db,
        "SELECT f.evidence, f.line_start, coalesce(f.line_end, f.line_start) FROM findings f JOIN latest_reviews r "
        "USING (review_id) WHERE r.case_key = ? AND f.evidence <> '' AND f.line_start IS NOT NULL",
        [case],
    )[1]
    coverage = query(
        db,
        "SELECT c.evidence FROM requirement_coverage c JOIN latest_reviews r USING (review_id) WHERE r.case_key = ?",
        [case],
    )[1]
    quoted = [(e["text"], e["line_start"], e["line_end"]) for (evidence,) in coverage for e in json.loads(evidence)]
    return [(str(q), int(a), int(b)) for q, a, b in findings] + quoted


@pytest.fixture(scope="module")
def reviewed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("converted")
    _designs(root / "cases")
    db = root / "e.duckdb"
    result = runner.invoke(app, ["batch", str(root / "cases"), "--db", str(db), "--backend", "fake"])
    assert result.exit_code == 0, result.output
    return root / "cases", db


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_evidence_quote_is_in_the_converted_text_and_its_source_position(
    reviewed: tuple[Path, Path], fmt: str
) -> None:
    cases, db = reviewed
    case = f"{fmt}/tech-design.{fmt}"
    lines, spans = _gutter(case, db)
    quotes = _quotes(db, case)
    assert any("pan_number" in quote for quote, _, _ in quotes), quotes  # the check's evidence is among them
    for quote, start, end in quotes:
        # The quote is of the text, as the reader sees it rendered: inline code and emphasis marks aside.
        converted = " ".join(re.sub(r"[`*]", "", " ".join(lines[start - 1 : end])).split())
        for piece in filter(None, (p.strip() for p in quote.split("…"))):
            assert " ".join(piece.split()) in converted, (quote, start, end)
        marked = [spans[n] for n in range(start, end + 1) if n in spans]
        assert marked, f"no source position for lines {start}–{end} of {case}"
        unit, first, last = marked[0][0], min(s[1] for s in marked), max(s[2] for s in marked)
        there = original(cases / fmt / f"tech-design.{fmt}", unit, first, last)
        assert _in_order(_words(quote.replace("…", " ")), _words(there)), (quote, unit, first, last, there)


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_review_gives_each_evidence_line_in_the_markdown_and_in_the_source(
    reviewed: tuple[Path, Path], fmt: str
) -> None:
    """`show CASE` prints the review; a converted design's evidence says where it is in both texts."""
    db = reviewed[1]
    review = runner.invoke(app, ["show", f"{fmt}/tech-design.{fmt}", "--db", str(db)])
    assert review.exit_code == 0, review.output
    evidence = [line for line in review.stdout.splitlines() if line.strip().startswith("- Evidence:")]
    unit = {"docx": "paragraph", "pdf": "page"}.get(fmt, "line")
    assert evidence and all(re.search(rf"\(design, lines? [\d–]+; tech-design\.{fmt}, {unit}s? [\d–]+\)$", line)
                            for line in evidence), evidence  # fmt: skip


def test_the_pdf_quote_does_not_start_mid_sentence(reviewed: tuple[Path, Path]) -> None:
    lines, _ = _gutter("pdf/tech-design.pdf", reviewed[1])
    assert "loan application and" in lines and lines[lines.index("loan application and") + 1] == "its status."


def test_show_says_when_there_is_nothing_converted(tmp_path: Path) -> None:
    (tmp_path / "cases" / "md").mkdir(parents=True)
    (tmp_path / "cases" / "requirements.md").write_text(REQUIREMENTS)
    (tmp_path / "cases" / "md" / "tech-design.md").write_text(f"# Loan API design\n\n## Data Model\n\n{PAN}\n")
    db = tmp_path / "e.duckdb"
    assert runner.invoke(app, ["batch", str(tmp_path / "cases"), "--db", str(db), "--backend", "fake"]).exit_code == 0
    result = runner.invoke(app, ["show", "md/*", "--db", str(db), "--converted"])
    assert result.exit_code == 2 and "is markdown" in result.stderr and "nothing was converted" in result.stderr
    missing = runner.invoke(app, ["show", "nope", "--db", str(db)])
    assert missing.exit_code == 2 and "no reviewed case matches 'nope'" in missing.stderr


def test_review_of_a_converted_design_gives_its_evidence_lines_in_both_texts(tmp_path: Path) -> None:
    (tmp_path / "requirements.md").write_text(REQUIREMENTS)
    (tmp_path / "tech-design.rst").write_text(DESIGN_RST)
    args = ["review", "-r", str(tmp_path / "requirements.md"), "-d", str(tmp_path / "tech-design.rst")]
    result = runner.invoke(app, [*args, "--backend", "fake"])
    assert result.exit_code == 0, result.output
    evidence = [line for line in result.stdout.splitlines() if "pan_number" in line and "Evidence" in line]
    assert evidence and evidence[0].endswith("(design, line 5; tech-design.rst, line 8)"), evidence
