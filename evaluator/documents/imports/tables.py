"""CSV and XLSX exports with an id column and a text column (what Jama, Polarion and spreadsheets give).

The header row is the first row with at least two filled cells. Columns are found by their
header, case and spacing ignored:

* **id**: ``id``, ``key``, ``uid``, ``identifier``, ``requirement id``, ``req id``, ``item id``, ``#``;
* **text**: ``text``, ``description``, ``requirement``, ``requirement text``, ``statement``,
  ``content``, ``body``, ``details``;
* **title** (optional): ``title``, ``name``, ``summary``, ``heading``;
* **section** (optional): ``section``, ``chapter``, ``category``, ``module``, ``folder``,
  ``group``, ``area``.

A row without an id or text is skipped (said in the notes). ``source`` = ``<file>: row <n>``
(``<file>: <sheet> row <n>`` for XLSX), the row number as a spreadsheet shows it. A CSV's
delimiter (comma, semicolon, tab) is sniffed; XLSX is read with openpyxl, first sheet only.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from evaluator.documents.imports.model import Imported, Item, duplicate_note
from evaluator.errors import DocumentError

_COLUMNS = {
    "id": ("id", "key", "uid", "identifier", "requirementid", "reqid", "itemid", "#", "no", "number"),
    "text": ("text", "description", "requirement", "requirementtext", "statement", "content", "body", "details"),
    "title": ("title", "name", "summary", "heading"),
    "section": ("section", "chapter", "category", "module", "folder", "group", "area"),
}


def read_table(path: Path, role: str = "requirements") -> Imported:
    """The requirements of a ``.csv`` or ``.xlsx`` export; :class:`DocumentError` when its columns are not found."""
    rows, where = _xlsx(path, role) if path.suffix.lower() == ".xlsx" else _csv(path, role)
    header_at = next((i for i, row in enumerate(rows) if sum(1 for c in row if c.strip()) >= 2), None)
    if header_at is None:
        raise DocumentError(f"{role} file {path} has no header row (a row with at least two filled cells)")
    header = [_key(c) for c in rows[header_at]]
    columns = {name: next((i for i, h in enumerate(header) if h in names), None) for name, names in _COLUMNS.items()}
    if columns["id"] is None or columns["text"] is None:
        shown = ", ".join(repr(c) for c in rows[header_at] if c.strip())
        raise DocumentError(
            f"{role} file {path} has no {'id' if columns['id'] is None else 'text'} column (its header: {shown}) — "
            "name the columns id and text (or key/description, requirement id/requirement)"
        )
    items: list[Item] = []
    skipped = 0
    for number, row in enumerate(rows[header_at + 1 :], header_at + 2):
        cell = {name: (row[i].strip() if i is not None and i < len(row) else "") for name, i in columns.items()}
        if not cell["id"] or not cell["text"]:
            skipped += any(c.strip() for c in row)
            continue
        section = (cell["section"],) if cell["section"] else ()
        items.append(Item(cell["id"], cell["title"], cell["text"], section, f"{path.name}: {where}row {number}"))
    notes = [f"{skipped} row(s) without an id or a text: skipped"] if skipped else []
    return Imported(path.stem, items, _reader(path), notes + duplicate_note(items))


def _key(cell: str) -> str:
    return re.sub(r"[\s_.-]+", "", cell.strip().lower())


def _csv(path: Path, role: str) -> tuple[list[list[str]], str]:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        text = path.read_bytes().decode("cp1252", errors="replace")
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    try:
        return [list(row) for row in csv.reader(io.StringIO(text), dialect)], ""
    except csv.Error as exc:
        raise DocumentError(f"{role} file {path} is not valid CSV: {exc}") from None


def _xlsx(path: Path, role: str) -> tuple[list[list[str]], str]:
    import zipfile

    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        problem = f"{role} file {path} is not a readable XLSX workbook ({exc})"
        raise DocumentError(f"{problem} — save it again as .xlsx") from None
    try:
        sheet = book.worksheets[0]
        rows = [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]
        return rows, f"{sheet.title} "
    finally:
        book.close()


def _reader(path: Path) -> str:
    if path.suffix.lower() != ".xlsx":
        return "csv"
    from importlib.metadata import version

    return f"openpyxl {version('openpyxl')}"
