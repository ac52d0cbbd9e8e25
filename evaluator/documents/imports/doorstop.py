"""Doorstop document trees (YAML items; doorstop-dev/doorstop's format, read here with PyYAML).

A document is a folder with ``.doorstop.yml`` (``settings: {prefix, sep, digits, parent}``); an
item is one file per requirement, ``REQ001.yml`` (or ``REQ001.md``: YAML front matter and a
markdown body), its UID the file name without the extension. The tree is every document found
under the folder given (or the folder of the ``.doorstop.yml`` given), parents before children.

* **id** the UID; **text** ``text``; **title** ``header``;
* items with ``active: false`` are left out; an item with ``normative: false`` (or a ``level``
  ending in ``.0``) is a heading: its ``header`` (or the first line of its text) heads the items
  after it, by ``level``;
* ``source`` = the item file's path relative to the tree.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from evaluator.documents.imports.model import DOORSTOP_CONFIG, Imported, Item, duplicate_note
from evaluator.errors import DocumentError

_MAX_ITEMS = 20_000


def read_doorstop(path: Path, role: str = "requirements", max_bytes: int = 2_000_000) -> Imported:
    """The requirements of a Doorstop tree; :class:`DocumentError` for a broken ``.doorstop.yml`` or item."""
    root = path.parent if path.name == DOORSTOP_CONFIG else path
    documents = sorted(p.parent for p in root.rglob(DOORSTOP_CONFIG))
    if not documents:
        raise DocumentError(f"{role} folder {root} holds no Doorstop document (no {DOORSTOP_CONFIG})")
    configs = {d: _settings(d / DOORSTOP_CONFIG, role) for d in documents}
    ordered = sorted(documents, key=lambda d: (_depth(d, configs), str(d)))
    items: list[Item] = []
    notes: list[str] = []
    inactive = 0
    total = 0
    for folder in ordered:
        prefix = str(configs[folder].get("prefix") or folder.name)
        headings: list[tuple[tuple[int, ...], str]] = []
        for level, uid, data, file in _items(folder, role):
            total += len(str(data.get("text", "")))
            if total > max_bytes:
                raise DocumentError(f"{role} tree {root} holds more than {max_bytes:,} bytes of text — split it")
            if data.get("active") is False:
                inactive += 1
                continue
            text = " ".join(str(data.get("text") or "").split())
            header = " ".join(str(data.get("header") or "").split())
            if data.get("normative") is False or (level and level[-1] == 0 and len(level) > 1):
                headings = [h for h in headings if _under(h[0], level)] + [(level, header or text.split(".")[0])]
                continue
            path_names = (prefix, *(h for lv, h in headings if _under(lv, level)))
            items.append(Item(uid, header, text or header, path_names, file.relative_to(root).as_posix()))
    if inactive:
        notes.append(f"{inactive} inactive item(s) (active: false) left out")
    notes += duplicate_note(items)
    return Imported(root.name, items, "doorstop YAML (PyYAML)", notes)


def _settings(path: Path, role: str) -> dict[str, Any]:
    data = _yaml(path, role)
    settings = data.get("settings") if isinstance(data, dict) else None
    if not isinstance(settings, dict):
        raise DocumentError(f"{role} file {path} has no settings: block — it is not a Doorstop document")
    return settings


def _depth(folder: Path, configs: dict[Path, dict[str, Any]]) -> int:
    """How many parents a document has (a parent is named by its prefix)."""
    by_prefix = {str(c.get("prefix")): d for d, c in configs.items()}
    depth, seen = 0, {folder}
    parent = configs[folder].get("parent")
    while parent and str(parent) in by_prefix and by_prefix[str(parent)] not in seen:
        seen.add(by_prefix[str(parent)])
        parent = configs[by_prefix[str(parent)]].get("parent")
        depth += 1
    return depth


def _items(folder: Path, role: str) -> list[tuple[tuple[int, ...], str, dict[str, Any], Path]]:
    found: list[tuple[tuple[int, ...], str, dict[str, Any], Path]] = []
    files = [p for p in sorted(folder.iterdir()) if p.suffix in (".yml", ".md") and p.name != DOORSTOP_CONFIG]
    if len(files) > _MAX_ITEMS:
        raise DocumentError(f"{role} document {folder} has {len(files):,} items, more than {_MAX_ITEMS:,}")
    for file in files:
        data = _item_data(file, role)
        if data is None:
            continue
        found.append((_level(data.get("level"), len(found) + 1), file.stem, data, file))
    return sorted(found, key=lambda t: t[0])


def _item_data(file: Path, role: str) -> dict[str, Any] | None:
    if file.suffix == ".md":
        text = file.read_text(encoding="utf-8")
        match = re.match(r"\A---\n(.*?)\n---\n?(.*)\Z", text, re.S)
        if match is None:
            return None  # a markdown file without front matter is not an item
        data = _yaml_text(match.group(1), file, role)
        body = match.group(2).strip()
        heading = re.match(r"#\s+(.+)\n?", body)
        if heading and not data.get("header"):
            data["header"], body = heading.group(1), body[heading.end() :]
        return {**data, "text": body}
    data = _yaml(file, role)
    return data if isinstance(data, dict) else None


def _yaml(path: Path, role: str) -> Any:
    try:
        return _yaml_text(path.read_text(encoding="utf-8"), path, role)
    except UnicodeDecodeError as exc:
        raise DocumentError(f"{role} file {path} is not UTF-8 ({exc.reason})") from None


def _yaml_text(text: str, path: Path, role: str) -> Any:
    import yaml

    try:
        return yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" at line {where.line + 1}" if where is not None else ""
        raise DocumentError(f"{role} file {path} is not valid YAML{at}: {getattr(exc, 'problem', exc)}") from None


def _level(value: Any, position: int) -> tuple[int, ...]:
    """``level`` as numbers (``'1.2.0'`` → (1, 2, 0)); an item without one comes in file order."""
    if value is None:
        return (999, position)
    parts = re.findall(r"\d+", str(value))
    return tuple(int(p) for p in parts) or (999, position)


def _under(heading: tuple[int, ...], level: tuple[int, ...]) -> bool:
    """Whether an item at ``level`` sits under the heading at ``heading`` (``1.0`` heads ``1.x``)."""
    stem = heading[:-1] if heading and heading[-1] == 0 else heading
    return level[: len(stem)] == stem and level != heading
