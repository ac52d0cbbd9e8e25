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
            f"(bad byte at offset {exc.start}) — {_conversion_hint(data, path)}"
        ) from None
    if "\x00" in text:
        raise DocumentError(f"{role} file looks binary (it contains NUL characters): {path} — give a text file")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise DocumentError(f"{role} file is empty: {path} — give a file with content")
    return text


def _conversion_hint(data: bytes, path: Path) -> str:
    """How to convert a file that is not UTF-8: Windows-1252 when its bytes are that, else find out first.

    Windows-1252 is what Windows editors and Word's "plain text" save; it differs from Latin-1
    exactly in the bytes 0x80-0x9F, which hold – — ‘ ’ “ ” € …: converting those as Latin-1
    would turn them into invisible control characters.
    """
    try:
        data.decode("cp1252")
    except UnicodeDecodeError:  # one of the five bytes Windows-1252 leaves undefined: not that encoding
        return f"find its encoding (`file -i {path.name}`), then convert it to UTF-8 with `iconv -f ENCODING -t utf-8`"
    return f"convert it to UTF-8, e.g. `iconv -f cp1252 -t utf-8 {path.name} > {path.stem}.utf8{path.suffix}`"


def _looks_utf16(data: bytes) -> bool:
    """Mostly-ASCII UTF-16 without a BOM: every other byte is NUL."""
    sample = data[:4096]
    return len(sample) >= 4 and (sample[1::2].count(0) > len(sample) // 3 or sample[0::2].count(0) > len(sample) // 3)
