"""Designs and requirements that are not markdown: Word, PDF, HTML, reStructuredText, AsciiDoc.

Each is converted to markdown, which is then what is reviewed, stored and quoted (evidence
line numbers refer to it). ``.docx``, ``.pdf`` and ``.html`` go through MarkItDown's
converters, ``.rst`` through docutils (to HTML) and ``.adoc`` through the ``asciidoctor``
program (to HTML, in its secure mode: no includes, no network), both then through
MarkItDown's HTML converter. Only local bytes are read; nothing reaches a network.

Hostile files fail alone, with one line: the source file has a size limit, a ``.docx`` (a
zip) is checked for its uncompressed size before it is opened, and the conversion runs in
a child process (:mod:`evaluator.documents.converters`) with a time and a memory limit. A scan, an
encrypted or corrupt file, or one that converts to almost nothing is refused.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from html import unescape
from importlib.metadata import PackageNotFoundError, version
from io import BytesIO
from pathlib import Path
from typing import Any

from evaluator.documents.encoding import decode_text  # the same encoding rules as markdown
from evaluator.documents.sources import SourceMap, align, line_tokens
from evaluator.errors import DocumentError
from evaluator.offline import OFFLINE_ENVIRONMENT

TEXT_SUFFIXES = {".md": "markdown", ".markdown": "markdown", ".txt": "text"}
CONVERTED_SUFFIXES = {
    ".docx": "docx",
    ".pdf": "pdf",
    ".html": "html",
    ".htm": "html",
    ".rst": "rst",
    ".adoc": "asciidoc",
    ".asciidoc": "asciidoc",
}
SUPPORTED_SUFFIXES = (*TEXT_SUFFIXES, *CONVERTED_SUFFIXES)
DEFAULT_TIMEOUT_S = 60.0
SOURCE_FACTOR = 10  # a .docx/.pdf may be this many times the markdown size limit (images, fonts)
UNZIPPED_FACTOR = 50  # a .docx may unzip to this many times the markdown size limit
MEMORY_LIMIT = 2 * 2**30  # address space of the conversion process, bytes
MIN_WORDS = 10  # fewer words than this after conversion: a scan, or an empty export
_CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # OLE compound file: a legacy .doc or an encrypted .docx


@dataclass(frozen=True)
class Converted:
    """The markdown of a converted document, with what made it."""

    text: str
    title: str | None  # the document's own title (HTML <title>, Word's Title property), if any
    source_format: str  # 'docx', 'pdf', 'html', 'rst', 'asciidoc'
    converter: str  # e.g. 'markitdown 0.1.9' or 'asciidoctor 2.0.18 + markitdown 0.1.9'
    source_map: SourceMap | None = None  # where each markdown line came from in the file


def source_format(path: Path) -> str | None:
    """The format a file is converted from, or None for markdown/text (and unknown suffixes)."""
    return CONVERTED_SUFFIXES.get(path.suffix.lower())


def convert(
    path: Path, data: bytes, *, role: str = "document", max_bytes: int, timeout_s: float = DEFAULT_TIMEOUT_S
) -> Converted:
    """Convert the bytes of ``path`` (read by the caller, within the source limit) to markdown.

    Raises :class:`DocumentError` with one line for an encrypted, corrupt, oversized, empty
    or scanned document, a conversion that runs past ``timeout_s`` seconds, or a missing tool.
    """
    fmt = source_format(path)
    if fmt is None:
        raise DocumentError(f"{role} file {path} is not a format that is converted")
    title = None
    if fmt == "docx":
        title = _check_docx(path, data, role, max_bytes)
    elif fmt == "pdf" and data.lstrip()[:5] != b"%PDF-":
        raise DocumentError(f"{role} file {path} is not a PDF (no %PDF header) — export it again")
    payload, worker_fmt, tool, source = data, fmt, "", ""
    if fmt in ("rst", "asciidoc"):
        source = decode_text(data, path, role)
        if fmt == "rst":
            payload, worker_fmt, tool = source.encode("utf-8"), "rst", f"docutils {_version('docutils')} + "
        else:
            payload, worker_fmt = _asciidoctor(source, path, role, timeout_s), "asciidoc-html"
            tool = f"{asciidoctor_version()} + "
    result = _run_worker(worker_fmt, payload, path, role, timeout_s)
    text = result["text"]
    _check_output(text, fmt, path, role, max_bytes)
    positions = result.get("positions")
    if fmt == "asciidoc":  # the worker saw asciidoctor's HTML: its lines are mapped onto the source here
        positions = align(text, line_tokens(source))
    mapped = {"name": path.name, "unit": result["unit"], "positions": positions}
    source_map = SourceMap.from_json(mapped) if positions else None
    converter = f"{tool}markitdown {_version('markitdown')}"
    return Converted(text, title or result.get("title") or None, fmt, converter, source_map)


def _check_docx(path: Path, data: bytes, role: str, max_bytes: int) -> str | None:
    """Refuse an encrypted, corrupt or bomb-like .docx before any converter opens it; return its Title."""
    if data.startswith(_CFB_MAGIC):
        raise DocumentError(
            f"{role} file {path} is password-protected (encrypted) or a legacy .doc — "
            "save an unprotected .docx copy and review that"
        )
    try:
        with zipfile.ZipFile(BytesIO(data)) as archive:
            members = archive.infolist()
            total = sum(m.file_size for m in members)
            limit = max_bytes * UNZIPPED_FACTOR
            if total > limit:
                raise DocumentError(
                    f"{role} file {path} unpacks to {total:,} bytes, more than the limit of {limit:,} "
                    "(a zip bomb, or a document full of media) — remove the media or split it"
                )
            if "word/document.xml" not in archive.namelist():
                raise DocumentError(f"{role} file {path} is a zip archive but not a Word document — export it again")
            core = archive.read("docProps/core.xml") if "docProps/core.xml" in archive.namelist() else b""
    except (zipfile.BadZipFile, EOFError, NotImplementedError, ValueError) as exc:
        raise DocumentError(f"{role} file {path} is a corrupt Word file ({exc}) — open and save it again") from None
    match = re.search(rb"<dc:title>(.*?)</dc:title>", core, re.S)
    return " ".join(unescape(match.group(1).decode("utf-8", "replace")).split()) if match else None


def _run_worker(fmt: str, payload: bytes, path: Path, role: str, timeout_s: float) -> dict[str, Any]:
    command = [sys.executable, "-m", "evaluator.documents.converters", fmt, str(MEMORY_LIMIT)]
    env = {**_child_environment(), **OFFLINE_ENVIRONMENT}
    try:
        done = subprocess.run(command, input=payload, capture_output=True, timeout=timeout_s, env=env, check=False)
    except subprocess.TimeoutExpired:
        raise DocumentError(
            f"converting {role} file {path} took longer than {timeout_s:g} s — the file is too complex or hostile; "
            "export it again or convert it to markdown yourself"
        ) from None
    try:
        result = json.loads(done.stdout)
    except ValueError:
        result = {"error": "memory" if done.returncode < 0 else "failed", "detail": _last_line(done.stderr)}
    if "error" in result:
        raise _conversion_error(result["error"], result.get("detail", ""), path, role)
    return result


def _conversion_error(kind: str, detail: str, path: Path, role: str) -> DocumentError:
    if kind == "encrypted":
        return DocumentError(f"{role} file {path} is password-protected (encrypted) — give an unprotected copy")
    if kind == "corrupt":
        return DocumentError(f"{role} file {path} is corrupt ({detail}) — open and save or export it again")
    if kind == "memory":
        return DocumentError(
            f"converting {role} file {path} needed more than {MEMORY_LIMIT // 2**30} GiB of memory — "
            "the file is too large or hostile; split it or convert it to markdown yourself"
        )
    return DocumentError(f"cannot convert {role} file {path}: {detail} — export it again or convert it yourself")


def _check_output(text: str, fmt: str, path: Path, role: str, max_bytes: int) -> None:
    words = len(re.findall(r"\w+", text))
    if words < MIN_WORDS and fmt == "pdf":
        raise DocumentError(
            f"{role} file {path} has no text layer ({words} words extracted): a scanned PDF? — "
            "run OCR on it (e.g. ocrmypdf) or export it with text"
        )
    if words < MIN_WORDS:
        raise DocumentError(
            f"{role} file {path} converts to almost no text ({words} words) — check that it is the design, "
            "or export it again"
        )
    size = len(text.encode("utf-8"))
    if size > max_bytes:
        raise DocumentError(
            f"{role} file {path} converts to {size:,} bytes of markdown, the limit is {max_bytes:,} — "
            "split it or raise the limit",
            settings=("max_bytes",),
        )


def _asciidoctor(text: str, path: Path, role: str, timeout_s: float) -> bytes:
    """AsciiDoc -> HTML with the asciidoctor program, secure mode, no footer (it holds a date)."""
    program = shutil.which("asciidoctor")
    if program is None:
        raise DocumentError(
            f"{role} file {path} is AsciiDoc, which needs the asciidoctor program — install it "
            "(Debian/Ubuntu: apt-get install asciidoctor; elsewhere: gem install asciidoctor)"
        )
    command = [program, "--safe-mode", "secure", "-a", "nofooter", "-a", "!webfonts", "-a", "showtitle"]
    command += ["--embedded", "-o", "-", "-"]
    try:
        done = subprocess.run(command, input=text.encode("utf-8"), capture_output=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:
        raise DocumentError(f"converting {role} file {path} took longer than {timeout_s:g} s — simplify it") from None
    if done.returncode != 0:
        raise DocumentError(f"asciidoctor cannot convert {role} file {path}: {_last_line(done.stderr)}")
    return done.stdout


@functools.cache
def asciidoctor_version() -> str:
    """'asciidoctor 2.0.18', from the program itself ('asciidoctor' when it does not say)."""
    program = shutil.which("asciidoctor")
    if program is None:
        return "asciidoctor"
    done = subprocess.run([program, "--version"], capture_output=True, text=True, timeout=30, check=False)
    match = re.search(r"Asciidoctor (\S+)", done.stdout)
    return f"asciidoctor {match.group(1)}" if match else "asciidoctor"


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "unknown"


def _child_environment() -> dict[str, str]:
    """A small environment: no proxies or credentials; the parent's import path, so the same code runs."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    return env


def _last_line(stderr: bytes) -> str:
    lines = [line for line in stderr.decode("utf-8", "replace").splitlines() if line.strip()]
    return lines[-1].strip()[:300] if lines else "no details"
