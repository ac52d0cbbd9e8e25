"""The conversion worker: one document in on stdin, its markdown out on stdout as JSON.

Runs in a child process started by :mod:`evaluator.documents.formats` (``python -m
evaluator.documents.converters FORMAT LIMIT_BYTES``), so a converter that hangs or eats memory on a
hostile file is killed by the parent's time limit or this process's memory limit and
cannot take the batch down with it. Only local data is read: the input comes on stdin and
the converters are called directly (never MarkItDown's dispatcher, which also accepts URLs
and falls back to other converters when the right one fails).

Output: ``{"text": ..., "title": ...}`` or ``{"error": KIND, "detail": ...}`` where KIND is
``encrypted``, ``corrupt`` or ``failed``.
"""

from __future__ import annotations

import io
import json
import re
import resource
import sys
from typing import Any

# pdfminer's exceptions for a password-protected file, matched by name so that a change
# of module layout between releases does not turn them into "corrupt".
_ENCRYPTED = {"PDFPasswordIncorrect", "PDFEncryptionError", "PDFEncryptionWarning", "PDFNotImplementedError"}
_CORRUPT = {"PDFSyntaxError", "PSEOF", "PSSyntaxError", "BadZipFile", "KeyError", "PDFNoValidXRef", "XMLSyntaxError"}


def convert_bytes(fmt: str, data: bytes) -> dict[str, Any]:
    """Markdown (and the converter's document title) of ``data`` in format ``fmt``."""
    from markitdown import StreamInfo
    from markitdown.converters import DocxConverter, HtmlConverter, PdfConverter

    if fmt == "rst":
        data, fmt = _rst_to_html(data.decode("utf-8")), "html"
    converter = {"docx": DocxConverter, "pdf": PdfConverter, "html": HtmlConverter}[fmt]()
    info = StreamInfo(extension=f".{fmt}", charset="utf-8" if fmt == "html" else None)
    # Unescaped '_' and '*' keep identifiers such as pan_number as the author wrote them, so
    # the model's quotes of them are found in the text.
    result = converter.convert(io.BytesIO(data), info, escape_underscores=False, escape_asterisks=False)
    # The same normalisation MarkItDown applies after its own dispatch.
    text = "\n".join(line.rstrip() for line in re.split(r"\r?\n", result.text_content or ""))
    return {"text": re.sub(r"\n{3,}", "\n\n", text).strip() + "\n", "title": result.title}


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
