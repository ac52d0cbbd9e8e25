"""The conversion worker: one document in on stdin, its markdown out on stdout as JSON.

Runs in a child process started by :mod:`evaluator.documents.formats` (``python -m
evaluator.documents.converters FORMAT LIMIT_BYTES``), so a converter that hangs or eats memory on a
hostile file is killed by the parent's time limit or this process's memory limit and
cannot take the batch down with it. Only local data is read: the input comes on stdin and
the converters are called directly (never MarkItDown's dispatcher, which also accepts URLs
and falls back to other converters when the right one fails).

Output: ``{"text": ..., "title": ..., "unit": ..., "positions": ...}`` (where each markdown line
came from, see :mod:`evaluator.documents.sources`) or ``{"error": KIND, "detail": ...}`` where
KIND is ``encrypted``, ``corrupt`` or ``failed``. An HTML page is reduced to its main content
first (no navigation, banners, footers or scripts); a PDF's pages are joined into one text
(:mod:`evaluator.documents.pages`).
"""

from __future__ import annotations

import io
import json
import re
import resource
import sys
from typing import Any

from evaluator.documents.pages import pages_text
from evaluator.documents.sources import Positions, align, html_tokens, line_tokens

# pdfminer's exceptions for a password-protected file, matched by name so that a change
# of module layout between releases does not turn them into "corrupt".
_ENCRYPTED = {"PDFPasswordIncorrect", "PDFEncryptionError", "PDFEncryptionWarning", "PDFNotImplementedError"}
_CORRUPT = {"PDFSyntaxError", "PSEOF", "PSSyntaxError", "BadZipFile", "KeyError", "PDFNoValidXRef", "XMLSyntaxError"}


def convert_bytes(fmt: str, data: bytes) -> dict[str, Any]:
    """Markdown of ``data`` in format ``fmt``, the converter's document title, and where each markdown line
    came from in ``data`` (``unit`` and ``positions``, see :mod:`evaluator.documents.sources`; no positions
    for ``asciidoc-html``, HTML that asciidoctor made: the parent maps it onto the AsciiDoc source)."""
    from markitdown import StreamInfo
    from markitdown.converters import DocxConverter, HtmlConverter, PdfConverter

    tokens: list[tuple[str, int]] | None = None
    unit = {"docx": "paragraph", "pdf": "page"}.get(fmt, "line")
    if fmt == "rst":
        source = data.decode("utf-8")
        data, fmt, tokens = _rst_to_html(source), "html", line_tokens(source)
    elif fmt == "html":
        page = data.decode("utf-8", "replace")
        tokens, data = html_tokens(page), main_content(page).encode("utf-8")
    elif fmt == "asciidoc-html":
        fmt = "html"
    elif fmt == "docx":
        tokens = docx_tokens(data)
    converter = {"docx": DocxConverter, "pdf": PdfConverter, "html": HtmlConverter}[fmt]()
    info = StreamInfo(extension=f".{fmt}", charset="utf-8" if fmt == "html" else None)
    # Unescaped '_' and '*' keep identifiers such as pan_number as the author wrote them, so
    # the model's quotes of them are found in the text.
    result = converter.convert(io.BytesIO(data), info, escape_underscores=False, escape_asterisks=False)
    title = result.title
    positions: Positions | None
    if fmt == "pdf":
        text, positions, title = pages_text(result.text_content or "")
    else:
        # The same normalisation MarkItDown applies after its own dispatch.
        text = "\n".join(line.rstrip() for line in re.split(r"\r?\n", result.text_content or ""))
        text = re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"
        positions = align(text, tokens) if tokens is not None else None
    return {"text": text, "title": title, "unit": unit, "positions": positions}


# Parts of a web page around its content: navigation, banners, sidebars, footers, forms, scripts.
_AROUND = ("script", "style", "noscript", "template", "nav", "aside", "form", "iframe", "button", "svg")
_ROLES = "[role=navigation], [role=banner], [role=contentinfo], [role=complementary], [role=search], [hidden]"


def main_content(html: str) -> str:
    """An HTML page's main content: the ``<main>`` (or ``role=main``, or the one ``<article>``) element,
    else the body without its page header and footer; navigation, sidebars, forms, scripts, skip links
    and hidden parts removed everywhere. The ``<head>`` (the title) is kept."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    for tag in soup.find_all(_AROUND) + soup.select(_ROLES) + soup.find_all("footer"):
        tag.decompose()
    for link in soup.find_all("a", href=re.compile(r"^#")):
        if re.match(r"(?i)\s*skip\b", link.get_text()):
            link.decompose()
    articles = soup.find_all("article")
    main = soup.find("main") or soup.find(True, attrs={"role": "main"}) or (articles[0] if len(articles) == 1 else None)
    if main is None:
        for header in soup.find_all("header"):
            if header.find_parent(["article", "section", "main"]) is None:
                header.decompose()  # the site's banner, not an article's own header (its title)
        return str(soup)
    head = soup.find("head")
    return f"<html>{head or ''}<body>{main}</body></html>"


def docx_tokens(data: bytes) -> list[tuple[str, int]]:
    """The words of a Word document's body with their paragraph numbers (every ``w:p`` in document
    order, table cells included, 1-based)."""
    import zipfile
    from xml.etree import ElementTree

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        root = ElementTree.fromstring(archive.read("word/document.xml"))
    tokens = []
    for number, paragraph in enumerate(root.iter(f"{_W}p"), 1):
        text = "".join(node.text or "" for node in paragraph.iter(f"{_W}t"))
        tokens += [(match.group(), number) for match in re.finditer(r"\w+", text)]
    return tokens


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _rst_to_html(text: str) -> bytes:
    from docutils.core import publish_string

    settings = {
        "file_insertion_enabled": False,  # no `.. include:: /etc/passwd`
        "raw_enabled": False,  # no raw HTML passed through
        "report_level": 5,  # warnings are not part of the design's text
        "halt_level": 5,
        "traceback": True,
        "embed_stylesheet": False,
        "stylesheet_path": "",
        "output_encoding": "utf-8",
    }
    return bytes(publish_string(text, writer="html5", settings_overrides=settings))


def classify(exc: BaseException) -> str:
    """``encrypted``, ``corrupt`` or ``failed`` for an exception and what caused it."""
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or current in seen:
            continue
        seen.append(current)
        todo += [current.__cause__, current.__context__]
        for attempt in getattr(current, "attempts", None) or []:
            todo.append(attempt.exc_info[1] if attempt.exc_info else None)
    names = {type(e).__name__ for e in seen}
    if names & _ENCRYPTED or any("password" in str(e).lower() or "encrypt" in str(e).lower() for e in seen):
        return "encrypted"
    return "corrupt" if names & _CORRUPT else "failed"


def main(argv: list[str]) -> int:
    """Read stdin, convert, print JSON; exit 0 even when the document is unusable."""
    fmt, memory = argv[0], int(argv[1])
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    data = sys.stdin.buffer.read()
    try:
        result = convert_bytes(fmt, data)
    except MemoryError:
        result = {"error": "memory", "detail": "ran out of memory"}
    except Exception as exc:  # any converter failure is the document's, reported as one line
        result = {
            "error": classify(exc),
            "detail": f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
        }
    sys.stdout.write(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
