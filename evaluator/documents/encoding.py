"""Bytes to text: the encoding rules every input document follows, whatever its format.

Markdown files are decoded here directly; reStructuredText and AsciiDoc sources are decoded
here before their converter runs, so both follow one rule set.
"""

from __future__ import annotations

from pathlib import Path

from evaluator.errors import DocumentError


def decode_text(data: bytes, path: Path, role: str = "document") -> str:
    """Decode UTF-8 (BOM allowed) or UTF-16 with a BOM, normalise line endings, reject binary or empty input."""
    encoding = "utf-16" if data[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-8-sig"
    if encoding == "utf-8-sig" and b"\x00" in data:
        if _looks_utf16(data):
            raise DocumentError(
                f"{role} file is UTF-16 without a byte-order mark: {path} — save it as UTF-8 (or UTF-16 with a BOM)"
            )
        raise DocumentError(
            f"{role} file looks binary (it contains NUL bytes): {path} — give a markdown text file, "
            "or a .docx, .pdf, .html, .rst or .adoc document"
        )
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise DocumentError(
            f"{role} file is not {'UTF-16' if encoding == 'utf-16' else 'UTF-8'} text: {path} "
            f"(bad byte at offset {exc.start}) — convert it to UTF-8, e.g. `iconv -f latin1 -t utf-8`"
        ) from None
    if "\x00" in text:
        raise DocumentError(f"{role} file looks binary (it contains NUL characters): {path} — give a text file")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise DocumentError(f"{role} file is empty: {path} — give a file with content")
    return text


def _looks_utf16(data: bytes) -> bool:
    """Mostly-ASCII UTF-16 without a BOM: every other byte is NUL."""
    sample = data[:4096]
    return len(sample) >= 4 and (sample[1::2].count(0) > len(sample) // 3 or sample[0::2].count(0) > len(sample) // 3)
