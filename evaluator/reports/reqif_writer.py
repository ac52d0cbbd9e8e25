"""ReqIF 1.0 XML of a traceability matrix (layout in :mod:`evaluator.reports.traceability`), built with lxml."""

from __future__ import annotations

from datetime import UTC, datetime

from lxml import etree

from evaluator.grounding.matrix import SUGGESTED, TraceMatrix, design_elements, element_id, reqif_identifier
from evaluator.version import __version__

_NS = "http://www.omg.org/spec/ReqIF/20110401/reqif.xsd"
_XHTML = "http://www.w3.org/1999/xhtml"
_STRING, _TEXT = "evaluator-datatype-string", "evaluator-datatype-xhtml"
_REQUIREMENT, _DESIGN = "evaluator-type-requirement", "evaluator-type-design-element"
_SATISFIES, _SPECIFICATION = "evaluator-type-satisfies", "evaluator-type-design"
_ATTRIBUTES = {  # (type, attribute) -> (identifier, LONG-NAME, kind)
    (_REQUIREMENT, "id"): ("evaluator-requirement-foreign-id", "ReqIF.ForeignID", "STRING"),
    (_REQUIREMENT, "text"): ("evaluator-requirement-text", "ReqIF.Text", "XHTML"),
    (_DESIGN, "id"): ("evaluator-design-foreign-id", "ReqIF.ForeignID", "STRING"),
    (_DESIGN, "name"): ("evaluator-design-name", "ReqIF.Name", "STRING"),
    (_DESIGN, "text"): ("evaluator-design-text", "ReqIF.Text", "XHTML"),
    (_SATISFIES, "description"): ("evaluator-satisfies-description", "ReqIF.Description", "STRING"),
}


def write_reqif(matrix: TraceMatrix) -> str:
    """The XML text (UTF-8 declaration included)."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    root = etree.Element(f"{{{_NS}}}REQ-IF", nsmap={None: _NS, "xhtml": _XHTML})
    header = _sub(_sub(root, "THE-HEADER"), "REQ-IF-HEADER", IDENTIFIER="evaluator-header")
    for tag, text in (("COMMENT", f"Trace links suggested by evaluator between {matrix.requirements.path.name} and "
                                  f"{matrix.design.path.name}: accept or reject each."),
                      ("CREATION-TIME", now), ("REQ-IF-TOOL-ID", f"evaluator {__version__}"), ("REQ-IF-VERSION", "1.0"),
                      ("SOURCE-TOOL-ID", "evaluator"), ("TITLE", f"Trace links: {matrix.design.title}")):  # fmt: skip
        _sub(header, tag).text = text
    content = _sub(_sub(root, "CORE-CONTENT"), "REQ-IF-CONTENT")
    _datatypes(_sub(content, "DATATYPES"), now)
    _spec_types(_sub(content, "SPEC-TYPES"), now)
    objects = _sub(content, "SPEC-OBJECTS")
    for row in matrix.rows:
        values = {"id": row.requirement.id, "text": row.requirement.text}
        _object(objects, reqif_identifier(row), _REQUIREMENT, values, now)
    elements = design_elements(matrix)
    for link, _ in elements:
        text = "\n".join(p.text for p in link.passages)
        values = {"id": element_id(link.section), "name": link.heading, "text": text}
        _object(objects, element_id(link.section), _DESIGN, values, now)
    relations = _sub(content, "SPEC-RELATIONS")
    for row in matrix.rows:
        for link in row.links:
            _relation(relations, element_id(link.section), reqif_identifier(row), link.score, now)
    specification = _sub(_sub(content, "SPECIFICATIONS"), "SPECIFICATION", IDENTIFIER="evaluator-specification",
                         **{"LAST-CHANGE": now, "LONG-NAME": matrix.design.title})  # fmt: skip
    children = _sub(specification, "CHILDREN")
    for link, _ in elements:
        node = _sub(children, "SPEC-HIERARCHY", IDENTIFIER=f"{element_id(link.section)}-node", **{"LAST-CHANGE": now})
        _sub(_sub(node, "OBJECT"), "SPEC-OBJECT-REF").text = element_id(link.section)
    _sub(_sub(specification, "TYPE"), "SPECIFICATION-TYPE-REF").text = _SPECIFICATION
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True).decode("utf-8")


def _sub(parent: etree._Element, tag: str, **attributes: str) -> etree._Element:
    return etree.SubElement(parent, f"{{{_NS}}}{tag}", attributes)


def _datatypes(parent: etree._Element, now: str) -> None:
    _sub(parent, "DATATYPE-DEFINITION-STRING", IDENTIFIER=_STRING,
         **{"LAST-CHANGE": now, "LONG-NAME": "String", "MAX-LENGTH": "1000000"})  # fmt: skip
    _sub(parent, "DATATYPE-DEFINITION-XHTML", IDENTIFIER=_TEXT, **{"LAST-CHANGE": now, "LONG-NAME": "Formatted text"})


def _spec_types(parent: etree._Element, now: str) -> None:
    names = {_REQUIREMENT: ("SPEC-OBJECT-TYPE", "Requirement"), _DESIGN: ("SPEC-OBJECT-TYPE", "Design Element"),
             _SATISFIES: ("SPEC-RELATION-TYPE", "Satisfies")}  # fmt: skip
    for type_id, (tag, long_name) in names.items():
        spec_type = _sub(parent, tag, IDENTIFIER=type_id, **{"LAST-CHANGE": now, "LONG-NAME": long_name})
        attributes = _sub(spec_type, "SPEC-ATTRIBUTES")
        for (owner, _), (identifier, name, kind) in _ATTRIBUTES.items():
            if owner == type_id:
                definition = _sub(attributes, f"ATTRIBUTE-DEFINITION-{kind}", IDENTIFIER=identifier,
                                  **{"LAST-CHANGE": now, "LONG-NAME": name})  # fmt: skip
                datatype = _STRING if kind == "STRING" else _TEXT
                _sub(_sub(definition, "TYPE"), f"DATATYPE-DEFINITION-{kind}-REF").text = datatype
    _sub(parent, "SPECIFICATION-TYPE", IDENTIFIER=_SPECIFICATION, **{"LAST-CHANGE": now, "LONG-NAME": "Design"})


def _values(parent: etree._Element, type_id: str, values: dict[str, str]) -> None:
    holder = _sub(parent, "VALUES")
    for key, value in values.items():
        identifier, _, kind = _ATTRIBUTES[(type_id, key)]
        if kind == "STRING":
            element = _sub(holder, "ATTRIBUTE-VALUE-STRING", **{"THE-VALUE": value})
            _sub(_sub(element, "DEFINITION"), "ATTRIBUTE-DEFINITION-STRING-REF").text = identifier
        else:
            element = _sub(holder, "ATTRIBUTE-VALUE-XHTML")
            _sub(_sub(element, "DEFINITION"), "ATTRIBUTE-DEFINITION-XHTML-REF").text = identifier
            div = etree.SubElement(_sub(element, "THE-VALUE"), f"{{{_XHTML}}}div")
            for number, paragraph in enumerate(value.split("\n")):
                etree.SubElement(div, f"{{{_XHTML}}}p").text = paragraph if number or paragraph else " "


def _object(parent: etree._Element, identifier: str, type_id: str, values: dict[str, str], now: str) -> None:
    element = _sub(parent, "SPEC-OBJECT", IDENTIFIER=identifier, **{"LAST-CHANGE": now})
    _values(element, type_id, values)
    _sub(_sub(element, "TYPE"), "SPEC-OBJECT-TYPE-REF").text = type_id


def _relation(parent: etree._Element, source: str, target: str, score: float, now: str) -> None:
    element = _sub(parent, "SPEC-RELATION", IDENTIFIER=f"{source}-satisfies-{target}", **{"LAST-CHANGE": now})
    _values(element, _SATISFIES, {"description": f"{SUGGESTED} by evaluator (score {score:.3f}): accept or reject"})
    _sub(_sub(element, "SOURCE"), "SPEC-OBJECT-REF").text = source
    _sub(_sub(element, "TARGET"), "SPEC-OBJECT-REF").text = target
    _sub(_sub(element, "TYPE"), "SPEC-RELATION-TYPE-REF").text = _SATISFIES
