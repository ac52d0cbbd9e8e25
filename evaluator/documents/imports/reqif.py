"""ReqIF (OMG ReqIF 1.x) ``.reqif`` and ``.reqifz``, through the ``reqif`` package (strictdoc-project, Apache-2.0).

What every tool writes differently is read from what the file declares: attribute values point
to their definitions, whose ``LONG-NAME`` says what they are (the ProSTEP ``ReqIF.*`` names).

* **id**: ``ReqIF.ForeignID`` (DOORS' absolute number, Polarion's work-item id), else an attribute
  whose name says it is an id ("IE PUID", "Identifier", "ID"), else the object's ``LONG-NAME``,
  else its ``IDENTIFIER``;
* **text**: ``ReqIF.Text`` (XHTML, turned into plain text), else ``ReqIF.Description``, else the
  object's only XHTML attribute;
* **title**: ``ReqIF.Name``, else ``ReqIF.ChapterName`` on an object that also has text (Polarion
  writes the work-item title there);
* **headings**: an object whose type is named like one ("Heading", "Chapter", "Section", "Title",
  "Information"), or that has a ``ReqIF.ChapterName`` and no text; the section path is the nesting
  of ``SPEC-HIERARCHY`` elements (a requirement nested under a requirement keeps its heading path);
* ``source`` = ``<file>: SPEC-OBJECT <IDENTIFIER>``, the identifier a ``SPEC-RELATION`` of
  ``evaluator trace --format reqif`` points back to.

Objects without text, hierarchy entries pointing at missing objects and objects that no
specification places are said in the notes (the last ones are still imported, after the rest).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

from evaluator.documents.imports.model import Imported, Item, duplicate_note
from evaluator.errors import DocumentError

_HEADING_TYPE = re.compile(r"heading|chapter|section|title|information|folder", re.I)
_ID_NAME = re.compile(r"(?:^|[\s._-])(?:id|puid|uid|identifier|key|number)$", re.I)


@dataclass
class _Object:
    identifier: str
    type_name: str
    values: dict[str, str]  # attribute LONG-NAME -> text
    xhtml: list[str]  # names of the attributes that were XHTML
    long_name: str


def read_reqif(path: Path, role: str = "requirements") -> Imported:
    """The requirements of a ``.reqif`` or ``.reqifz`` file; :class:`DocumentError` when it is not ReqIF."""
    bundles = _parse(path, role)
    items: list[Item] = []
    notes: list[str] = []
    title = ""
    for bundle in bundles:
        header = bundle.req_if_header
        title = title or (getattr(header, "title", None) or "")
        found, more = _bundle_items(bundle, path)
        items += found
        notes += more
    notes += duplicate_note(items)
    return Imported(title or path.stem, items, f"reqif {version('reqif')}", notes)


def _parse(path: Path, role: str) -> list[Any]:
    from reqif.models.error_handling import ReqIFSchemaError, ReqIFXMLParsingError, ReqIFZParsingError
    from reqif.parser import ReqIFParser, ReqIFZParser

    try:
        if path.suffix.lower() == ".reqifz":
            bundles = list(ReqIFZParser.parse(str(path)).reqif_bundles.values())
        else:
            text = path.read_bytes().decode("utf-8-sig")
            bundles = [ReqIFParser.parse_from_string(text)]
    except UnicodeDecodeError as exc:
        raise DocumentError(f"{role} file {path} is not UTF-8 ({exc.reason}) — ReqIF files are UTF-8 XML") from None
    except (ReqIFXMLParsingError, ReqIFZParsingError, ReqIFSchemaError) as exc:
        raise DocumentError(f"{role} file {path} is not valid ReqIF: {_first_line(exc)} — export it again") from None
    except Exception as exc:  # the parser asserts and raises bare errors on broken structure
        raise DocumentError(f"{role} file {path} is not valid ReqIF: {_first_line(exc)} — export it again") from None
    if not any(b.core_content is not None and b.core_content.req_if_content is not None for b in bundles):
        raise DocumentError(f"{role} file {path} is ReqIF without CORE-CONTENT: no requirements to read")
    return bundles


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:200]


def _bundle_items(bundle: Any, path: Path) -> tuple[list[Item], list[str]]:
    content = bundle.core_content.req_if_content
    objects = _objects(content)
    notes: list[str] = []
    placed: set[str] = set()
    items: list[Item] = []
    missing = 0
    for specification in content.specifications or []:
        spec_name = _clean(specification.long_name or "")
        for node, ancestors in _walk(specification.children or [], (), objects):
            placed.add(node.spec_object)
            obj = objects.get(node.spec_object)
            if obj is None:
                missing += 1
                continue
            path_names = tuple(n for n in (spec_name, *ancestors) if n)
            item = _item(obj, path_names, path)
            if item is not None:
                items.append(item)
    loose = [o for i, o in objects.items() if i not in placed]
    items += [item for o in loose if (item := _item(o, ("Not placed in a specification",), path)) is not None]
    headings = {o.identifier for o in objects.values() if _is_heading(o)}
    without_text = [o for o in objects.values() if o.identifier not in headings and not _text(o)]
    if missing:
        notes.append(f"{missing} SPEC-HIERARCHY entr(ies) point to SPEC-OBJECTs the file does not hold: skipped")
    if loose:
        notes.append(f"{len(loose)} SPEC-OBJECT(s) are in no SPECIFICATION: imported after the others")
    if without_text:
        names = sorted({o.type_name or "untyped" for o in without_text})
        kinds = ", ".join(names)
        notes.append(f"{len(without_text)} SPEC-OBJECT(s) have no ReqIF.Text or other text ({kinds}): skipped")
    return items, notes


def _walk(
    nodes: list[Any], ancestors: tuple[str, ...], objects: dict[str, _Object]
) -> Iterator[tuple[Any, tuple[str, ...]]]:
    """Every hierarchy node with the headings above it; a heading object adds its name for its children."""
    for node in nodes:
        yield node, ancestors
        obj = objects.get(node.spec_object)
        heading = _heading_name(obj) if obj is not None and _is_heading(obj) else ""
        yield from _walk(node.children or [], (*ancestors, heading) if heading else ancestors, objects)


def _heading_name(obj: _Object) -> str:
    return obj.values.get("ReqIF.ChapterName") or obj.values.get("ReqIF.Name") or obj.long_name


def _objects(content: Any) -> dict[str, _Object]:
    names = {}
    enums = {}
    for datatype in content.data_types or []:
        for value in getattr(datatype, "values", None) or []:
            enums[value.identifier] = value.long_name or value.key or value.identifier
    types = {}
    for spec_type in content.spec_types or []:
        types[spec_type.identifier] = spec_type.long_name or ""
        for definition in getattr(spec_type, "attribute_definitions", None) or []:
            names[definition.identifier] = definition.long_name or definition.identifier
    found = {}
    for obj in content.spec_objects or []:
        values: dict[str, str] = {}
        xhtml: list[str] = []
        for attribute in obj.attributes:
            name = names.get(attribute.definition_ref, attribute.definition_ref)
            kind = str(getattr(attribute.attribute_type, "name", attribute.attribute_type))
            if kind == "XHTML":
                xhtml.append(name)
                values[name] = _xhtml_text(attribute.value_stripped_xhtml or str(attribute.value))
            elif isinstance(attribute.value, list):
                values[name] = ", ".join(str(enums.get(v) or v) for v in attribute.value)
            else:
                values[name] = _clean(str(attribute.value))
        type_name = types.get(obj.spec_object_type, "")
        found[obj.identifier] = _Object(obj.identifier, type_name, values, xhtml, _clean(obj.long_name or ""))
    return found


def _is_heading(obj: _Object) -> bool:
    has_chapter = bool(obj.values.get("ReqIF.ChapterName"))
    return has_chapter and (bool(_HEADING_TYPE.search(obj.type_name)) or not _text(obj))


def _text(obj: _Object) -> str:
    if obj.values.get("ReqIF.Text"):
        return obj.values["ReqIF.Text"]
    if obj.values.get("ReqIF.Description"):
        return obj.values["ReqIF.Description"]
    others = [n for n in obj.xhtml if n not in ("ReqIF.ChapterName", "ReqIF.Name")]
    return obj.values.get(others[0], "") if len(others) == 1 else ""


def _item(obj: _Object, headings: tuple[str, ...], path: Path) -> Item | None:
    text = _text(obj)
    if _is_heading(obj) or not text:
        return None
    title = obj.values.get("ReqIF.Name") or obj.values.get("ReqIF.ChapterName") or ""
    return Item(_id(obj), "" if title == text else title, text, headings, f"{path.name}: SPEC-OBJECT {obj.identifier}")


def _id(obj: _Object) -> str:
    foreign = obj.values.get("ReqIF.ForeignID", "")
    prefix = obj.values.get("ReqIF.Prefix", "")
    if foreign:
        return f"{prefix}{foreign}" if prefix and foreign.isdigit() else foreign
    for name, value in obj.values.items():
        if value and _ID_NAME.search(name) and len(value) <= 40 and " " not in value:
            return value
    if obj.long_name and len(obj.long_name) <= 40 and " " not in obj.long_name:
        return obj.long_name
    return obj.identifier


def _xhtml_text(markup: str) -> str:
    """Plain text of an XHTML value: block elements and line breaks become spaces."""
    from lxml import html

    try:
        fragment = html.fragment_fromstring(markup, create_parent="div")
    except Exception:  # not markup after all: a bare string
        return _clean(re.sub(r"<[^>]+>", " ", markup))
    for element in fragment.iter():
        if element.tag in ("br", "p", "div", "li", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6"):
            element.tail = " " + (element.tail or "")
    return _clean(fragment.text_content())


def _clean(text: str) -> str:
    return " ".join(text.split())
