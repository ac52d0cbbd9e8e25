"""A traceability matrix (:mod:`evaluator.grounding.matrix`) written out: CSV, JSON, sphinx-needs
``needs.json`` and ReqIF, each link marked *suggested* for a person to accept in the team's tool.

* **CSV**: one row per link (a requirement without links: one row with empty link columns).
* **JSON**: one object per requirement with its status, source and links.
* **needs.json** (sphinx-needs' ``needs`` builder format, what ``needimport`` reads): one need of
  type ``spec`` per linked design section, ``status: suggested``, tag ``suggested``, with a
  ``fulfils`` link to each requirement it addresses (declare ``fulfils`` in the importing
  project's ``needs_extra_links``; ``needimport`` drops fields it does not know, with a warning).
* **ReqIF 1.0**: the requirements as SPEC-OBJECTs with their own identifiers (the ReqIF
  ``IDENTIFIER`` of a requirement imported from ReqIF, so the tool matches them on import), one
  SPEC-OBJECT per linked design section, one ``Satisfies`` SPEC-RELATION (design → requirement,
  ``ReqIF.Description`` "suggested by evaluator, score …") per link, and a SPECIFICATION listing
  the design elements. Every file is checked against the ReqIF XSD shipped with the ``reqif``
  package and parsed back with it before it is returned (:func:`check_reqif`).
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evaluator.errors import EvaluatorError
from evaluator.grounding.matrix import SUGGESTED, TraceMatrix, TraceRow, design_elements, element_id
from evaluator.reports.reqif_writer import write_reqif
from evaluator.version import __version__

CSV_COLUMNS = (
    "requirement_id", "requirement_source", "status", "rank", "section", "line_start", "line_end", "score",
    "standout", "state",
)  # fmt: skip


def to_csv(matrix: TraceMatrix) -> str:
    """One row per link (LF line ends)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in matrix.rows:
        r = row.requirement
        if not row.links:
            writer.writerow([r.id, r.source, row.status, "", "", "", "", "", "", ""])
        for rank, link in enumerate(row.links, 1):
            writer.writerow([r.id, r.source, row.status, rank, link.section, link.line_start, link.line_end,
                             link.score, link.standout, SUGGESTED])  # fmt: skip
    return out.getvalue()


def to_json(matrix: TraceMatrix) -> str:
    """The matrix as JSON: the documents, and per requirement its status, source and links."""
    return json.dumps(
        {
            "requirements": str(matrix.requirements.path),
            "requirements_format": matrix.requirements.source_format,
            "design": str(matrix.design.path),
            "notes": list(matrix.requirements.notes),
            "rows": [_row_json(row) for row in matrix.rows],
        },
        indent=2,
        ensure_ascii=False,
    )


def _row_json(row: TraceRow) -> dict[str, Any]:
    r = row.requirement
    return {
        "id": r.id,
        "text": r.text,
        "section": r.section,
        "line": r.line,
        "source": r.source,
        "status": row.status,
        "links_stand_out": row.standing_out,
        "links": [
            {"section": link.section, "line_start": link.line_start, "line_end": link.line_end, "score": link.score,
             "standout": link.standout, "passages": [p.id for p in link.passages], "state": SUGGESTED}
            for link in row.links
        ],
    }  # fmt: skip


def to_needs(matrix: TraceMatrix) -> str:
    """A sphinx-needs ``needs.json`` of the linked design sections (see the module docstring)."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    needs = {}
    for link, ids in design_elements(matrix):
        nid = element_id(link.section)
        needs[nid] = {
            "id": nid,
            "type": "spec",
            "title": link.heading,
            "content": "\n\n".join(p.text for p in link.passages),
            "status": SUGGESTED,
            "tags": [SUGGESTED, "evaluator"],
            "links": [],
            "fulfils": list(dict.fromkeys(ids)),
            "docname": str(matrix.design.path),
            "lineno": link.line_start,
            "sections": list(reversed(link.section.split(" › "))),
        }
    version = {
        "created": now,
        "creator": {"program": "evaluator", "version": __version__},
        "needs_amount": len(needs),
        "needs": needs,
    }
    data = {"created": now, "current_version": "", "project": matrix.design.title, "versions": {"": version}}
    return json.dumps(data, indent=2, ensure_ascii=False)


def to_reqif(matrix: TraceMatrix) -> str:
    """The matrix as ReqIF 1.0 XML (see the module docstring), checked by :func:`check_reqif`."""
    text = write_reqif(matrix)
    check_reqif(text)
    return text


def check_reqif(text: str) -> None:
    """Validate ReqIF XML against the ReqIF XSD shipped with the ``reqif`` package, parse it back with
    ``reqif``, and check that every SPEC-RELATION points at SPEC-OBJECTs of the file (what ``reqif
    validate --use-reqif-schema`` checks); raise :class:`EvaluatorError` naming the first problem."""
    import os

    import reqif
    import xmlschema
    from reqif.parser import ReqIFParser

    schema = xmlschema.XMLSchema(os.path.join(reqif.PATH_TO_REQIF_ROOT, "reqif", "reqif_schema", "reqif.xsd"))
    try:
        error = next(iter(schema.iter_errors(io.StringIO(text))), None)
    except (xmlschema.XMLResourceError, SyntaxError) as exc:
        raise EvaluatorError(f"the ReqIF written is not well-formed XML: {exc}") from None
    if error is not None:
        raise EvaluatorError(f"the ReqIF written does not validate against the ReqIF schema: {error.reason}")
    bundle = ReqIFParser.parse_from_string(text)
    for relation in bundle.core_content.req_if_content.spec_relations or []:
        for end in (relation.source, relation.target):
            if not bundle.lookup.spec_object_exists(end):
                raise EvaluatorError(f"the ReqIF written has a SPEC-RELATION to a missing SPEC-OBJECT {end}")


def case_files(db: Path, case: str) -> tuple[str, Path, Path]:
    """The case key, requirements and design files of the latest review of ``case`` (a key or a glob);
    :class:`StoreError` when none or several match, or when a file is no longer where it was reviewed."""
    from evaluator.errors import StoreError
    from evaluator.store.reader import query

    _, rows = query(
        db,
        "SELECT case_key, requirements_path, design_path FROM latest_reviews WHERE case_key GLOB ? ORDER BY 1",
        [case],
    )
    if not rows:
        raise StoreError(
            f"no reviewed case matches '{case}' in {db} — list them with: SELECT case_key FROM latest_reviews"
        )
    if len(rows) > 1:
        shown = ", ".join(r[0] for r in rows[:5]) + (" …" if len(rows) > 5 else "")
        raise StoreError(f"'{case}' matches {len(rows)} cases ({shown}) — name one")
    key, requirements, design = rows[0]
    if not requirements:
        raise StoreError(f"case {key} was reviewed without requirements: nothing to trace")
    for label, path in (("requirements", requirements), ("design", design)):
        if not Path(path).exists():
            raise StoreError(
                f"the {label} of case {key} are no longer at {path} — run evaluator trace from the folder "
                "the batch ran in, or give --requirements and --design"
            )
    return key, Path(requirements), Path(design)
