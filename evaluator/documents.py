"""Reading input documents and splitting them into sections.

A document is validated before anything else sees it (exists, is a file, not too large,
UTF-8 text, not empty) and split into sections with a real markdown parser, so a ``#``
line inside a code fence is never taken for a heading.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from markdown_it import MarkdownIt

from evaluator.errors import DocumentError

DEFAULT_MAX_BYTES = 2_000_000


@dataclass(frozen=True)
class Section:
    """A heading and the lines under it, up to the next heading of any level."""

    heading: str
    level: int
    text: str


@dataclass(frozen=True)
class Document:
    """A validated markdown document."""

    path: Path
    text: str
    sha256: str
    title: str
    sections: list[Section] = field(default_factory=list)

    @property
    def size(self) -> int:
        """Size of the text in UTF-8 bytes."""
        return len(self.text.encode("utf-8"))


def read_document(path: Path, *, role: str = "document", max_bytes: int = DEFAULT_MAX_BYTES) -> Document:
    """Read and validate a markdown file; raise :class:`DocumentError` with advice if unusable."""
    data = _read_bytes(path, role, max_bytes)
    text = decode_text(data, path, role)
    return parse_document(text, path)


def parse_document(text: str, path: Path) -> Document:
    """Build a :class:`Document` from already validated text."""
    sections = split_sections(text)
    return Document(
        path=path,
        text=text,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        title=_title(sections, path),
        sections=sections,
    )


def _read_bytes(path: Path, role: str, max_bytes: int) -> bytes:
    try:
        if not path.exists():
            if path.is_symlink():
                raise DocumentError(f"{role} file is a broken or looping symbolic link: {path} — fix or remove it")
            raise DocumentError(f"{role} file not found: {path} — check the path")
        if path.is_dir():
            raise DocumentError(f"{role} path is a directory, not a file: {path} — pass the markdown file inside it")
        if not path.is_file():  # a FIFO or device would block or never end
            raise DocumentError(f"{role} path is not a regular file: {path} — pass a markdown file")
        with path.open("rb") as f:
            # Read one byte past the limit rather than trusting stat(): a file can grow meanwhile.
            data = f.read(max_bytes + 1)
            size = max(os.fstat(f.fileno()).st_size, len(data))
    except OSError as exc:
        raise DocumentError(f"cannot read {role} file {path}: {exc.strerror or exc}") from None
    if len(data) > max_bytes:
        raise DocumentError(
            f"{role} file is too large: {path} is {size:,} bytes, the limit is {max_bytes:,} — "
            "split it or raise the limit",
            settings=("max_bytes",),
        )
    return data


def decode_text(data: bytes, path: Path, role: str = "document") -> str:
    """Decode UTF-8 (BOM allowed), normalise line endings, reject binary or empty input."""
    if b"\x00" in data:
        raise DocumentError(f"{role} file looks binary (it contains NUL bytes): {path} — give a markdown text file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentError(
            f"{role} file is not UTF-8 text: {path} (bad byte at offset {exc.start}) — "
            "convert it, e.g. `iconv -f latin1 -t utf-8`"
        ) from None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise DocumentError(f"{role} file is empty: {path} — give a file with content")
    return text


def split_sections(text: str) -> list[Section]:
    """Split markdown into sections at every heading (ATX or setext), ignoring code fences.

    Text before the first heading becomes a section with an empty heading and level 0.
    """
    lines = text.split("\n")
    tokens = MarkdownIt("commonmark").parse(text)
    starts: list[tuple[int, int, str]] = []
    for i, token in enumerate(tokens):
        if token.type == "heading_open" and token.map is not None:
            # A setext heading may span lines: a title is one line wherever it is used.
            starts.append((token.map[0], int(token.tag[1]), " ".join(tokens[i + 1].content.split())))
    sections: list[Section] = []
    first = starts[0][0] if starts else len(lines)
    preamble = "\n".join(lines[:first])
    if preamble.strip():
        sections.append(Section(heading="", level=0, text=preamble))
    for n, (line, level, heading) in enumerate(starts):
        end = starts[n + 1][0] if n + 1 < len(starts) else len(lines)
        sections.append(Section(heading=heading, level=level, text="\n".join(lines[line:end])))
    return sections


def _title(sections: list[Section], path: Path) -> str:
    for wanted in (1, None):
        for section in sections:
            if section.heading and (wanted is None or section.level == wanted):
                return section.heading
    return path.stem.replace("-", " ").replace("_", " ").strip() or path.name
