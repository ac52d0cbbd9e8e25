"""Reading input documents and splitting them into sections.

A document is validated before anything else sees it (exists, is a file, not too large,
UTF-8 or UTF-16 text, not empty) and split into sections with a real markdown parser, so
a ``#`` line inside a code fence is never taken for a heading. Word, PDF, HTML,
reStructuredText and AsciiDoc files are converted to markdown first (:mod:`evaluator.documents.formats`);
the markdown is the document from then on.

The title is, in this order: ``title:`` in YAML front matter, the converter's document
title, the first real level-1 heading (or a first line that is one behind a stray
character, ``/# Title``), else the file name.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from markdown_it import MarkdownIt

from evaluator.documents.encoding import decode_text
from evaluator.documents.formats import SOURCE_FACTOR, convert, source_format
from evaluator.documents.requirements import Requirement
from evaluator.documents.sources import SourceMap
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
    source_format: str = "markdown"  # or what it was converted from: 'docx', 'pdf', 'html', 'rst', 'asciidoc',
    # or imported from: 'reqif', 'needs', 'doorstop', 'csv', 'xlsx' (evaluator.documents.imports)
    converter: str | None = None  # e.g. 'markitdown 0.1.9'; None when read as it is
    requirements: tuple[Requirement, ...] | None = None  # an import's own requirements; None: parse the text
    notes: tuple[str, ...] = ()  # what an import did not take, one sentence each
    source_map: SourceMap | None = None  # a converted document's lines in its source file, where known

    @property
    def converted_from(self) -> str | None:
        """'tech-design.docx by markitdown 0.1.9' for a converted document, else None."""
        return f"{self.path.name} by {self.converter}" if self.converter else None

    @property
    def size(self) -> int:
        """Size of the text in UTF-8 bytes."""
        return len(self.text.encode("utf-8"))


def read_document(path: Path, *, role: str = "document", max_bytes: int = DEFAULT_MAX_BYTES) -> Document:
    """Read and validate a document (markdown, or a format converted to it); raise :class:`DocumentError` if unusable.

    ``max_bytes`` limits the markdown; a file that is converted may itself be up to
    ``formats.SOURCE_FACTOR`` times larger.
    """
    if source_format(path) is None:
        return parse_document(decode_text(_read_bytes(path, role, max_bytes), path, role), path)
    data = _read_bytes(path, role, max_bytes * SOURCE_FACTOR)
    converted = convert(path, data, role=role, max_bytes=max_bytes)
    return parse_document(
        converted.text,
        path,
        source_format=converted.source_format,
        converter=converted.converter,
        title=converted.title,
        source_map=converted.source_map,
    )


def read_text(path: Path, *, role: str = "document", max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    """The validated markdown of ``path`` (converted when it is not markdown), as :func:`read_document`
    reads it but without sections or title: for readers that parse the text themselves (ingest)."""
    if source_format(path) is None:
        return decode_text(_read_bytes(path, role, max_bytes), path, role)
    return convert(path, _read_bytes(path, role, max_bytes * SOURCE_FACTOR), role=role, max_bytes=max_bytes).text


def parse_document(
    text: str,
    path: Path,
    *,
    source_format: str = "markdown",
    converter: str | None = None,
    title: str | None = None,
    source_map: SourceMap | None = None,
) -> Document:
    """Build a :class:`Document` from already validated text; ``title`` and ``source_map`` are the converter's."""
    sections = split_sections(text)
    return Document(
        path=path,
        text=text,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        title=choose_title(text, sections, path, title),
        sections=sections,
        source_format=source_format,
        converter=converter,
        source_map=source_map,
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


def split_sections(text: str) -> list[Section]:
    """Split markdown into sections at every heading (ATX or setext), ignoring code fences.

    Text before the first heading becomes a section with an empty heading and level 0.
    """
    lines = text.split("\n")
    matter = front_matter_end(lines)
    # Front matter is blanked for the parser (its '# comment' lines are not headings) but
    # kept in the preamble, so line numbers and the text are unchanged.
    tokens = MarkdownIt("commonmark").parse("\n" * matter + "\n".join(lines[matter:]))
    starts: list[tuple[int, int, str]] = []
    for i, token in enumerate(tokens):
        if token.type == "heading_open" and token.map is not None:
            starts.append((token.map[0], int(token.tag[1]), _heading_text(tokens[i + 1].content)))
    sections: list[Section] = []
    first = starts[0][0] if starts else len(lines)
    preamble = "\n".join(lines[:first])
    if preamble.strip():
        sections.append(Section(heading="", level=0, text=preamble))
    for n, (line, level, heading) in enumerate(starts):
        end = starts[n + 1][0] if n + 1 < len(starts) else len(lines)
        sections.append(Section(heading=heading, level=level, text="\n".join(lines[line:end])))
    return sections


def _heading_text(content: str) -> str:
    """A heading as one line; rules of '=' or '-' (an reStructuredText overline) are not part of it."""
    kept = [line for line in content.split("\n") if not re.fullmatch(r"\s*[=\-~^*#+`]{3,}\s*", line)]
    return " ".join(" ".join(kept).split())


_FENCE = re.compile(r"^(---|\+\+\+)\s*$")
_MATTER_TITLE = re.compile(r"""^title\s*[:=]\s*(?P<q>["']?)(?P<title>.*?)(?P=q)\s*$""", re.I)
_STRAY_H1 = re.compile(r"^\s*[^\w\s#]{1,3}\s*#\s+(?P<title>\S.*?)\s*#*\s*$")


def front_matter_end(lines: list[str]) -> int:
    """Lines taken by YAML (``---``) or TOML (``+++``) front matter at the top; 0 when there is none."""
    if not lines or not _FENCE.match(lines[0]):
        return 0
    for i, line in enumerate(lines[1:200], 1):
        if line.strip() == lines[0].strip() or (lines[0].startswith("-") and line.strip() == "..."):
            return i + 1
    return 0


def choose_title(text: str, sections: list[Section], path: Path, converter_title: str | None = None) -> str:
    """Front-matter title, converter's title, first real H1, a stray-character H1 first line, or the file name."""
    lines = text.split("\n")
    matter = front_matter_end(lines)
    for line in lines[1 : max(matter - 1, 1)]:
        if (match := _MATTER_TITLE.match(line)) and (title := " ".join(match.group("title").split())):
            return title
    if converter_title and converter_title.strip():
        return " ".join(converter_title.split())
    for section in sections:
        if section.heading and section.level == 1:
            return section.heading
    first = next((line for line in lines[matter:] if line.strip()), "")
    if match := _STRAY_H1.match(first):
        return match.group("title")
    return path.stem.replace("-", " ").replace("_", " ").strip() or path.name
