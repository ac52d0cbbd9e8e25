"""sphinx-needs ``needs.json`` (the ``needs`` builder's output, what ``needimport`` reads).

The file holds every need of a project (requirements, specifications, implementations, tests …)
under ``versions[<current_version>].needs``, keyed by id. The requirements are the needs whose
``type`` or ``type_name`` says requirement or story (``req``, ``requirement``, ``story``, ``user
story``); a file without any such need is read whole. Each need gives:

* **id** its ``id``; **title** its ``title``; **text** its ``content`` (reST or markdown source,
  with its markup marks dropped; older files: ``description``);
* **section** its ``sections`` (innermost first in the file) under its ``docname``;
* ``source`` = ``<file>: need <id> (<docname>, line <lineno>)``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from evaluator.documents.imports.model import Imported, Item, duplicate_note
from evaluator.errors import DocumentError

_REQUIREMENT_TYPE = re.compile(r"^(?:req|reqs|requirement|requirements|story|stories|user[ _-]?story)$", re.I)
_DIRECTIVE = re.compile(r"^\s*\.\. [\w:-]+::.*$", re.M)
_MARKS = re.compile(r"\*\*|``|:\w+:`([^`]*)`|`([^`]*)`_?")


def read_needs(path: Path, role: str = "requirements") -> Imported:
    """The requirement needs of a ``needs.json``; :class:`DocumentError` when it is not one."""
    data = _load(path, role)
    needs = _needs(data, path, role)
    wanted = [n for n in needs if _REQUIREMENT_TYPE.match(str(n.get("type", ""))) or
              _REQUIREMENT_TYPE.match(str(n.get("type_name", "")))]  # fmt: skip
    chosen = wanted or needs
    notes = []
    skipped = sorted({str(n.get("type", "?")) for n in needs if n not in chosen})
    if skipped:
        notes.append(f"{len(needs) - len(chosen)} need(s) of other types ({', '.join(skipped)}) are not requirements")
    items = [item for n in chosen if (item := _item(n, path)) is not None]
    if len(items) < len(chosen):
        notes.append(f"{len(chosen) - len(items)} need(s) without a title or content: skipped")
    notes += duplicate_note(items)
    return Imported(str(data.get("project") or path.stem), items, "sphinx-needs needs.json", notes)


def _load(path: Path, role: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_bytes().decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise DocumentError(f"{role} file {path} is not UTF-8 ({exc.reason}) — needs.json files are UTF-8") from None
    except json.JSONDecodeError as exc:
        raise DocumentError(f"{role} file {path} is not valid JSON ({exc.msg}, line {exc.lineno})") from None
    if not isinstance(data, dict) or not isinstance(data.get("versions"), dict):
        raise DocumentError(
            f'{role} file {path} is JSON but not a sphinx-needs needs.json (no "versions" object) — '
            "build one with sphinx-build -b needs"
        )
    return data


def _needs(data: dict[str, Any], path: Path, role: str) -> list[dict[str, Any]]:
    versions = data["versions"]
    current = data.get("current_version")
    key = current if current in versions else (next(iter(versions)) if len(versions) == 1 else None)
    if key is None:
        raise DocumentError(
            f"{role} file {path}: current_version {current!r} is not among its versions "
            f"({', '.join(map(repr, versions)) or 'none'}) — the file is corrupt or partial"
        )
    needs = versions[key].get("needs") if isinstance(versions[key], dict) else None
    if not isinstance(needs, dict):
        raise DocumentError(f'{role} file {path}: version {key!r} has no "needs" object')
    return [dict(n, id=n.get("id") or k) for k, n in needs.items() if isinstance(n, dict)]


def _item(need: dict[str, Any], path: Path) -> Item | None:
    title = " ".join(str(need.get("title") or "").split())
    text = plain(str(need.get("content") or need.get("description") or ""))
    if not title and not text:
        return None
    sections = [str(s) for s in need.get("sections") or [] if s]
    docname = str(need.get("docname") or "")
    where = f" ({docname}, line {need['lineno']})" if docname and need.get("lineno") else ""
    return Item(str(need["id"]), title, text or title, tuple(reversed(sections)) or ((docname,) if docname else ()),
                f"{path.name}: need {need['id']}{where}")  # fmt: skip


def plain(markup: str) -> str:
    """reST or markdown source as one line of text: directives and emphasis/literal marks dropped."""
    text = _DIRECTIVE.sub(" ", markup)
    text = _MARKS.sub(lambda m: m.group(1) or m.group(2) or "", text)
    return " ".join(text.split())
