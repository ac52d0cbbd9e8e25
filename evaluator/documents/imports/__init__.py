"""Requirements from where they live: ReqIF, sphinx-needs ``needs.json``, Doorstop trees, CSV and XLSX.

Each importer reads its format into :class:`Item` s (id, title, text, section path, where it sits in
its own file); :func:`import_document` writes them out as a markdown requirements document (one list
item per requirement, ``- **ID**: Title — text``, under headings for its section path) and returns a
:class:`~evaluator.documents.read.Document` of that markdown carrying the requirements themselves, so
that the review, the batch and ``evaluator trace`` read an export exactly as they read markdown:

* a requirement's ``line`` is its line in that markdown (what the review reads, stores and quotes,
  as for a converted Word file), and its ``source`` names its place in the export
  (``reqs.reqif: SPEC-OBJECT rmf-…``, ``needs.json: need REQ_1``, ``reqs.csv: row 7``);
* what an importer did not understand (objects without text, needs of other types, duplicate ids)
  is said in the document's ``notes``;
* a malformed file raises :class:`~evaluator.errors.DocumentError` with one line naming the file and
  what is wrong.

Formats: ``.reqif`` / ``.reqifz`` (:mod:`.reqif`), ``*.json`` written by sphinx-needs (:mod:`.needs`),
a Doorstop tree given by a folder holding ``.doorstop.yml`` or that file itself (:mod:`.doorstop`),
``.csv`` / ``.xlsx`` with an id and a text column (:mod:`.tables`).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from evaluator.documents.imports.model import DOORSTOP_CONFIG, Imported
from evaluator.documents.read import DEFAULT_MAX_BYTES, Document, parse_document, read_document
from evaluator.documents.requirements import Requirement, make_requirement
from evaluator.errors import DocumentError

IMPORTED_SUFFIXES = {".reqif": "reqif", ".reqifz": "reqif", ".json": "needs", ".csv": "csv", ".xlsx": "xlsx"}


def import_format(path: Path) -> str | None:
    """The import format of a path ('reqif', 'needs', 'doorstop', 'csv', 'xlsx'), or None for a document."""
    if path.name == DOORSTOP_CONFIG or (path.is_dir() and (path / DOORSTOP_CONFIG).is_file()):
        return "doorstop"
    return IMPORTED_SUFFIXES.get(path.suffix.lower())


def read_requirements(path: Path, *, role: str = "requirements", max_bytes: int = DEFAULT_MAX_BYTES) -> Document:
    """A requirements document from any source: an export (see the module docstring) or a document
    :func:`~evaluator.documents.read.read_document` reads."""
    if import_format(path) is not None:
        return import_document(path, role=role, max_bytes=max_bytes)
    return read_document(path, role=role, max_bytes=max_bytes)


def import_document(path: Path, *, role: str = "requirements", max_bytes: int = DEFAULT_MAX_BYTES) -> Document:
    """Read an export (see the module docstring) as a requirements :class:`Document`."""
    kind = import_format(path)
    if kind is None:
        raise DocumentError(f"{role} file {path} is not a requirements export this tool reads")
    if kind != "doorstop":
        _check_file(path, role, max_bytes)
    imported = _read(kind, path, role, max_bytes)
    if not imported.items:
        raise DocumentError(
            f"{role} file {path} holds no requirements this tool can read"
            + (f" ({'; '.join(imported.notes)})" if imported.notes else "")
            + " — check that it is the requirements export"
        )
    text, requirements = write_markdown(imported)
    if len(text.encode("utf-8")) > max_bytes:
        raise DocumentError(
            f"{role} file {path} holds {len(text.encode('utf-8')):,} bytes of requirements, the limit is {max_bytes:,}"
            " — split it or raise the limit",
            settings=("max_bytes",),
        )
    document = parse_document(text, path, source_format=kind, converter=imported.reader, title=imported.title)
    return replace(document, requirements=tuple(requirements), notes=tuple(imported.notes))


def _check_file(path: Path, role: str, max_bytes: int) -> None:
    from evaluator.documents.formats import SOURCE_FACTOR

    if not path.is_file():
        raise DocumentError(f"{role} file not found: {path} — check the path")
    if path.stat().st_size > max_bytes * SOURCE_FACTOR:
        raise DocumentError(
            f"{role} file is too large: {path} is {path.stat().st_size:,} bytes, the limit is "
            f"{max_bytes * SOURCE_FACTOR:,} — split it or raise the limit",
            settings=("max_bytes",),
        )


def _read(kind: str, path: Path, role: str, max_bytes: int) -> Imported:
    if kind == "reqif":
        from evaluator.documents.imports.reqif import read_reqif

        return read_reqif(path, role)
    if kind == "needs":
        from evaluator.documents.imports.needs import read_needs

        return read_needs(path, role)
    if kind == "doorstop":
        from evaluator.documents.imports.doorstop import read_doorstop

        return read_doorstop(path, role, max_bytes)
    from evaluator.documents.imports.tables import read_table

    return read_table(path, role)


def write_markdown(imported: Imported) -> tuple[str, list[Requirement]]:
    """The markdown an export is reviewed as, and its requirements with their lines in it.

    Duplicate ids get ``#2``, ``#3`` … in order (said in the notes by the caller's importer)."""
    lines = [f"# {_one_line(imported.title) or 'Requirements'}"]
    requirements: list[Requirement] = []
    current: tuple[str, ...] = ()
    seen: dict[str, int] = {}
    for item in imported.items:
        if item.path != current:
            shared = next((i for i, (a, b) in enumerate(zip(item.path, current, strict=False)) if a != b), None)
            start = min(len(item.path), len(current)) if shared is None else shared
            for depth in range(start, len(item.path)):
                lines += [*([""] if lines[-1] else []), f"{'#' * min(depth + 2, 6)} {_one_line(item.path[depth])}", ""]
            current = item.path
        seen[item.id] = seen.get(item.id, 0) + 1
        rid = item.id if seen[item.id] == 1 else f"{item.id}#{seen[item.id]}"
        text = " — ".join(t for t in (_one_line(item.title), _one_line(item.text)) if t)
        lines.append(f"- **{rid}**: {text}")
        section = " › ".join((_one_line(imported.title) or "Requirements", *map(_one_line, item.path)))
        requirements.append(make_requirement(rid, text, len(lines), section, source=item.source))
    return "\n".join(lines) + "\n", requirements


def _one_line(text: str) -> str:
    return " ".join(text.split())
