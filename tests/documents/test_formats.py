"""Designs in Word, PDF, HTML, reStructuredText and AsciiDoc; encodings; titles; hostile files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from evaluator.documents import converters, formats
from evaluator.documents.read import parse_document, read_document
from evaluator.errors import DocumentError
from evaluator.review.render import heading_title
from tests.support import netguard
from tests.support.doc_fixtures import DESIGN_HTML, DESIGN_PARAGRAPHS, DESIGN_RST, docx_bytes, pdf_bytes, write_design

FORMATS = ["md", "docx", "pdf", "html", "rst", "adoc"]
CONVERTER = {
    "md": None,
    "docx": "markitdown ",
    "pdf": "markitdown ",
    "html": "markitdown ",
    "rst": "docutils ",
    "adoc": "asciidoctor ",
}


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[netguard.NetworkGuard]:
    yield from netguard.guarded(monkeypatch)


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_is_read_as_markdown_with_its_converter(tmp_path: Path, fmt: str) -> None:
    document = read_document(write_design(tmp_path, fmt), role="design")
    assert "pan_number column is stored in plain text" in document.text.replace("`", "")  # not pan\\_number
    assert "POST /v1/applications returns 202 Accepted" in document.text
    assert document.source_format == {"md": "markdown", "adoc": "asciidoc"}.get(fmt, fmt)
    prefix = CONVERTER[fmt]
    assert document.converter is None if prefix is None else (document.converter or "").startswith(prefix)
    # A PDF has no headings: its title is its first heading-like line (it was the file name).
    assert document.title == "Loan API design"
    if fmt in ("docx", "html", "rst", "adoc"):
        assert [s.heading for s in document.sections] == ["Loan API design", "Data Model", "API Design"]


@pytest.mark.parametrize(
    ("fmt", "data"),
    [
        ("html", DESIGN_HTML.encode()),  # it links an image on a web server: never fetched
        ("docx", docx_bytes(DESIGN_PARAGRAPHS)),
        ("pdf", pdf_bytes([text for _, text in DESIGN_PARAGRAPHS])),
        ("rst", DESIGN_RST.encode()),
    ],
)
def test_the_converters_never_reach_a_network(no_network: netguard.NetworkGuard, fmt: str, data: bytes) -> None:
    # The worker's own function, in this process, so the socket guard sees every call.
    result = converters.convert_bytes(fmt, data)
    assert "202 Accepted" in result["text"]
    assert not no_network.attempts


def test_the_word_title_property_is_the_title_and_the_review_heading_is_not_doubled(tmp_path: Path) -> None:
    path = tmp_path / "tech-design.docx"
    path.write_bytes(docx_bytes(DESIGN_PARAGRAPHS, title="Technical Design: Loan Origination"))
    document = read_document(path)
    assert document.title == "Technical Design: Loan Origination"
    assert f"Technical Design Review: {heading_title(document.title)}" == "Technical Design Review: Loan Origination"


HOSTILE: dict[str, tuple[bytes, str]] = {
    "scan.pdf": (pdf_bytes(["ignored"], text_layer=False), "has no text layer"),
    "locked.pdf": (pdf_bytes(["some words of a design"] * 5, encrypt=True), "password-protected"),
    "broken.pdf": (b"%PDF-1.4\n" + b"garbage " * 50, "is corrupt"),
    "renamed.pdf": (b"# a markdown file with the wrong name\n", "is not a PDF"),
    "broken.docx": (b"PK\x03\x04" + b"garbage" * 20, "corrupt Word file"),
    "locked.docx": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512, "password-protected"),
    "bomb.docx": (docx_bytes(DESIGN_PARAGRAPHS, extra={"word/media/zeros.bin": b"\x00" * 3_000_000}), "zip bomb"),
    "nearly-empty.docx": (docx_bytes([("", "Draft.")]), "converts to almost no text"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_files_fail_with_one_line(tmp_path: Path, name: str) -> None:
    data, expected = HOSTILE[name]
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(DocumentError) as caught:
        read_document(path, role="design", max_bytes=50_000)
    message = str(caught.value)
    assert expected in message and "\n" not in message and str(path) in message


def test_a_zip_that_is_not_a_word_document(tmp_path: Path) -> None:
    import zipfile

    path = tmp_path / "tech-design.docx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "hello " * 50)
    with pytest.raises(DocumentError, match="not a Word document"):
        read_document(path)


def test_the_source_file_and_the_markdown_have_size_limits(tmp_path: Path) -> None:
    path = write_design(tmp_path, "html")
    with pytest.raises(DocumentError, match=r"too large.*limit is 100\b"):
        read_document(path, max_bytes=10)  # 10 x 10 bytes for the source
    with pytest.raises(DocumentError, match=r"converts to .* bytes of markdown, the limit is 200"):
        read_document(path, max_bytes=200)


def test_a_conversion_past_its_time_limit_fails_with_one_line(tmp_path: Path) -> None:
    path = write_design(tmp_path, "docx")
    with pytest.raises(DocumentError, match=r"took longer than 0\.001 s") as caught:
        formats.convert(path, path.read_bytes(), role="design", max_bytes=100_000, timeout_s=0.001)
    assert "\n" not in str(caught.value)


def test_missing_asciidoctor_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(formats.shutil, "which", lambda name: None)
    with pytest.raises(DocumentError, match=r"needs the asciidoctor program .* apt-get install asciidoctor"):
        read_document(write_design(tmp_path, "adoc"))


def test_rst_cannot_include_files_or_pass_raw_html(tmp_path: Path) -> None:
    path = tmp_path / "tech-design.rst"
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    path.write_text(
        f"Design\n======\n\n.. include:: {secret}\n\n.. raw:: html\n\n   <b>RAW-HTML</b>\n\n" + "words " * 20 + "\n"
    )
    text = read_document(path).text
    assert "TOP-SECRET-VALUE" not in text and "RAW-HTML" not in text


def test_asciidoc_include_is_refused_in_secure_mode(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    path = tmp_path / "tech-design.adoc"
    path.write_text(f"= Design\n\ninclude::{secret}[]\n\n" + "words " * 20 + "\n")
    assert "TOP-SECRET-VALUE" not in read_document(path).text


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"\xef\xbb\xbf# Title\r\n\r\nBody\r\n", "# Title\n\nBody\n"),
        ("# Titre\r\n\r\nCafé\r\n".encode("utf-16"), "# Titre\n\nCafé\n"),  # with its BOM, as Windows saves it
        (b"\xfe\xff" + "# Titre\n\nCafé\n".encode("utf-16-be"), "# Titre\n\nCafé\n"),
        (b"# Title\rBody\r", "# Title\nBody\n"),
    ],
)
def test_encodings_real_files_use(tmp_path: Path, data: bytes, expected: str) -> None:
    path = tmp_path / "d.md"
    path.write_bytes(data)
    assert read_document(path).text == expected


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("# Title\n\nBody text\n".encode("utf-16-le"), "UTF-16 without a byte-order mark"),
        ("# Café\n".encode("latin-1"), "is not UTF-8 text"),
        (b"\xff\xfe\x00\xd8", "is not UTF-16 text"),  # a lone surrogate after the BOM
    ],
)
def test_other_encodings_fail_with_one_line(tmp_path: Path, data: bytes, message: str) -> None:
    path = tmp_path / "d.md"
    path.write_bytes(data)
    with pytest.raises(DocumentError, match=message) as caught:
        read_document(path)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ("---\n# note for the editors\nstatus: draft\n---\n\n# Real Title\n\nbody\n", "Real Title"),
        ('---\ntitle: "Payments: Refunds"\n---\n\n# Heading One\n', "Payments: Refunds"),
        ("+++\ntitle = 'Ledger'\n+++\n\n# Other\n", "Ledger"),
        ("=====\nLedger Design\n=====\n\nbody\n", "Ledger Design"),  # an rst overline in a .md
        ("/# Technical Design: Payouts\n\n## Document Version\n\n1.2\n", "Technical Design: Payouts"),
        ("## Document Version\n\n1.2\n\n## Scope\n", "payments design"),  # no H1: the file name
        ("intro\n\n# First\n\n# Second\n", "First"),
    ],
)
def test_titles_do_not_surprise(text: str, title: str) -> None:
    assert parse_document(text, Path("payments-design.md")).title == title


def test_front_matter_lines_are_not_headings_and_keep_their_line_numbers() -> None:
    text = "---\n# note\nstatus: x\n---\n\n# Real\n\nbody\n"
    document = parse_document(text, Path("d.md"))
    assert [(s.level, s.heading) for s in document.sections] == [(0, ""), (1, "Real")]
    assert "\n".join(s.text for s in document.sections) == text
    assert document.sections[0].text.startswith("---\n# note")


@pytest.mark.parametrize(
    ("title", "heading"),
    [
        ("Technical Design: Loan Origination", "Loan Origination"),
        ("Technical Design Review: Loans", "Loans"),
        ("Design Document - Ledger", "Ledger"),
        ("tech design: refunds", "refunds"),
        ("Design-time validation", "Design-time validation"),
        ("Technical Design", "Technical Design"),
        ("Loan API design", "Loan API design"),
    ],
)
def test_the_review_heading_never_doubles_the_prefix(title: str, heading: str) -> None:
    assert heading_title(title) == heading
