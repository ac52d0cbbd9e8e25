"""Small documents in every supported format, made by the tests (no binary fixtures in git).

A .docx is a zip of three XML parts; a PDF is a handful of numbered objects and an xref
table. Both are built here to the letter of their formats, so the real converters read
them as they read files from Word or a PDF printer.
"""

from __future__ import annotations

import zipfile
from io import BytesIO
from pathlib import Path
from xml.sax.saxutils import escape

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
    '<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
    "</Types>"
)
_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="word/document.xml"/>'
    '<Relationship Id="rId2" '
    'Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" '
    'Target="docProps/core.xml"/>'
    "</Relationships>"
)
_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"

DESIGN_PARAGRAPHS = [
    ("Heading1", "Loan API design"),
    ("Heading2", "Data Model"),
    ("", "The pan_number column is stored in plain text in the applications table of Postgres."),
    ("Heading2", "API Design"),
    ("", "POST /v1/applications returns 202 Accepted and publishes an event to the credit topic."),
]
REQUIREMENTS_PARAGRAPHS = [
    ("Heading1", "Loan requirements"),
    ("", "FR-1: the service shall accept loan applications asynchronously and answer 202 Accepted."),
    ("", "FR-2: personal data such as the PAN shall be encrypted at rest in every table and backup."),
]


def docx_bytes(
    paragraphs: list[tuple[str, str]], title: str | None = None, extra: dict[str, bytes] | None = None
) -> bytes:
    """A Word document of (style, text) paragraphs; style 'Heading1'... or '' for body text."""
    body = "".join(
        "<w:p>"
        + (f'<w:pPr><w:pStyle w:val="{style}"/></w:pPr>' if style else "")
        + f'<w:r><w:t xml:space="preserve">{escape(text)}</w:t></w:r></w:p>'
        for style, text in paragraphs
    )
    document = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f'<w:document xmlns:w="{_W}"><w:body>{body}</w:body></w:document>'
    )
    core = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/">'
        + (f"<dc:title>{escape(title)}</dc:title>" if title else "")
        + "</cp:coreProperties>"
    )
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _RELS)
        archive.writestr("word/document.xml", document)
        archive.writestr("docProps/core.xml", core)
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return buffer.getvalue()


def pdf_bytes(lines: list[str], *, text_layer: bool = True, encrypt: bool = False) -> bytes:
    """A one-page PDF showing ``lines`` in Helvetica; without a text layer the page only draws a box."""
    return pdf_pages([lines], text_layer=text_layer, encrypt=encrypt)


def pdf_pages(pages: list[list[str]], *, text_layer: bool = True, encrypt: bool = False) -> bytes:
    """A PDF of several pages, each showing its lines in Helvetica from the top; an empty string is a
    blank line (a paragraph break, as a PDF printer lays one out)."""
    count = len(pages)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(b"%d 0 R" % (4 + 2 * i) for i in range(count)), count),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for i, lines in enumerate(pages):
        if text_layer:
            shown = "".join(f"({_pdf_string(line)}) Tj T* " if line else "T* " for line in lines)
            stream = f"BT /F1 11 Tf 14 TL 72 720 Td {shown}ET".encode("latin-1")
        else:
            stream = b"0.5 g 72 72 400 600 re f"  # what a scan's page looks like to a text extractor: no text
        objects += [
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % (5 + 2 * i),
            b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        ]
    if encrypt:  # a standard security handler whose user password is not empty: nothing opens it without it
        objects.append(b"<< /Filter /Standard /V 1 /R 2 /O <" + b"11" * 32 + b"> /U <" + b"22" * 32 + b"> /P -4 >>")
    out = BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.write(b"".join(b"%010d 00000 n \n" % offset for offset in offsets))
    trailer = b"/Size %d /Root 1 0 R" % (len(objects) + 1)
    if encrypt:
        trailer += b" /Encrypt %d 0 R /ID [<%s> <%s>]" % (len(objects), b"ab" * 16, b"ab" * 16)
    out.write(b"trailer\n<< %s >>\nstartxref\n%d\n%%%%EOF\n" % (trailer, xref))
    return out.getvalue()


def _pdf_string(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


DESIGN_HTML = """<!doctype html>
<html><head><meta charset="utf-8"><title>Loan API design</title></head>
<body><h1>Loan API design</h1>
<h2>Data Model</h2><p>The pan_number column is stored in plain text in the applications table.</p>
<h2>API Design</h2><p>POST /v1/applications returns 202 Accepted and publishes an event.</p>
<img src="https://example.com/diagram.png" alt="architecture diagram">
</body></html>
"""

DESIGN_RST = """=================
 Loan API design
=================

Data Model
==========

The ``pan_number`` column is stored in plain text in the applications table.

API Design
==========

POST /v1/applications returns 202 Accepted and publishes an event to the credit topic.
"""

DESIGN_ADOC = """= Loan API design

== Data Model

The `pan_number` column is stored in plain text in the applications table.

== API Design

POST /v1/applications returns 202 Accepted and publishes an event to the credit topic.
"""

REQUIREMENTS_MD = "# Loan requirements\n\nFR-1: accept loan applications asynchronously (202 Accepted).\n"


def write_design(folder: Path, fmt: str, name: str = "tech-design") -> Path:
    """A design of the loan API in format ``fmt`` (md, docx, pdf, html, rst, adoc) under ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.{fmt}"
    texts = [text for _, text in DESIGN_PARAGRAPHS]
    content: bytes = {
        "md": lambda: ("# Loan API design\n\n" + "\n\n".join(texts[1:]) + "\n").encode(),
        "docx": lambda: docx_bytes(DESIGN_PARAGRAPHS),
        "pdf": lambda: pdf_bytes(texts),
        "html": lambda: DESIGN_HTML.encode(),
        "rst": lambda: DESIGN_RST.encode(),
        "adoc": lambda: DESIGN_ADOC.encode(),
    }[fmt]()
    path.write_bytes(content)
    return path
