"""A real tool's ReqIF export and a sphinx-needs needs.json review exactly like the same requirements in markdown.

The ReqIF is Polarion's anonymised export from the reqif package's tests (tests/fixtures/imports,
Apache-2.0), its structure untouched: its anonymised work items are given the loan-origination
requirements (ForeignID and Text values replaced), the rest lose their text. The needs.json is a
real project's file (MIT) with its needs replaced by the same requirements. The model is the
scripted fake: what is compared is everything the analyses decide."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from lxml import etree

from evaluator.api import review_files
from evaluator.backends.fake import FakeBackend
from evaluator.documents.imports import read_requirements
from tests.support.data import DATASETS

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "imports"
DESIGN = DATASETS / "loan-origination" / "no-dlq-no-idempotency" / "tech-design.md"
REQUIREMENTS = [
    ("FR-1", "A client can submit a loan application with PAN, income, amount and tenure."),
    ("FR-3", "A valid submission is accepted immediately and receives an application identifier."),
    ("FR-4", "A client can retrieve the current status of an application by its identifier."),
    ("FR-7", "A client re-submitting the same request must not create a second application."),
    ("FR-8", "At most one active application per PAN is allowed at any time."),
    ("NFR-4", "Submission must not wait on the credit bureau; the endpoint returns 202 Accepted."),
    ("NFR-6", "PAN, date of birth and income must be encrypted at rest and never logged in clear."),
    ("NFR-9", "Processing failures must be retried with backoff; poison messages go to a dead-letter topic."),
    ("NFR-10", "Kafka consumer lag per group must be monitored and alerted on."),
    ("REG-2", "Operators shall file a signed monthly lending report to the central bank's supervisory portal."),
]
_NS = {"r": "http://www.omg.org/spec/ReqIF/20110401/reqif.xsd", "x": "http://www.w3.org/1999/xhtml"}


def _markdown(tmp_path: Path) -> Path:
    path = tmp_path / "requirements.md"
    items = "\n".join(f"- **{rid}**: {text}" for rid, text in REQUIREMENTS)
    path.write_text(f"# Loan origination — requirements\n\n## Requirements\n\n{items}\n")
    return path


def _reqif(tmp_path: Path) -> Path:
    """Polarion's export with its first work items carrying our requirements, the others emptied."""
    source = FIXTURES / "polarion_anonymized.reqif"
    order = [r.source.rsplit(" ", 1)[1] for r in read_requirements(source).requirements or ()]
    tree = etree.parse(str(source))
    definitions = {d.get("IDENTIFIER"): d.get("LONG-NAME") for d in tree.iterfind(".//r:SPEC-ATTRIBUTES/*", _NS)}
    objects = {o.get("IDENTIFIER"): o for o in tree.iterfind(".//r:SPEC-OBJECT", _NS)}
    for position, identifier in enumerate(order):
        for value in objects[identifier].findall("r:VALUES/*", _NS):
            name = definitions.get(value.findtext("r:DEFINITION/*", namespaces=_NS))
            if position >= len(REQUIREMENTS) and name == "ReqIF.Text":
                value.getparent().remove(value)
            elif position < len(REQUIREMENTS) and name == "ReqIF.ForeignID":
                value.set("THE-VALUE", REQUIREMENTS[position][0])
            elif position < len(REQUIREMENTS) and name == "ReqIF.Text":
                div = value.find("r:THE-VALUE/x:div", _NS)
                for child in list(div):
                    div.remove(child)
                div.text = REQUIREMENTS[position][1]
            elif position < len(REQUIREMENTS) and name == "ReqIF.ChapterName":
                value.getparent().remove(value)  # the work-item title: our markdown has none
    path = tmp_path / "requirements.reqif"
    tree.write(str(path), xml_declaration=True, encoding="UTF-8")
    return path


def _needs(tmp_path: Path) -> Path:
    data = json.loads((FIXTURES / "esp32-distance.needs.json").read_text())
    version = data["versions"][data["current_version"]]
    template = next(n for n in version["needs"].values() if n["type"] == "req")
    version["needs"] = {
        rid: {**copy.deepcopy(template), "id": rid, "title": "", "content": text, "sections": ["Requirements"]}
        for rid, text in REQUIREMENTS
    }
    path = tmp_path / "needs.json"
    path.write_text(json.dumps(data))
    return path


def _outcome(requirements: Path) -> tuple[list[str], list[tuple[str, str, str | None, str]]]:
    review = review_files(requirements, DESIGN, backend=FakeBackend.answering())
    ids = [r.id for r in read_requirements(requirements).requirements or ()] if requirements.suffix != ".md" else []
    findings = sorted((f.severity, f.title, f.requirement_id, f.source) for f in review.findings)
    return ids, findings


def test_reqif_and_needs_json_give_the_same_review_as_markdown(tmp_path: Path) -> None:
    _, in_markdown = _outcome(_markdown(tmp_path))
    reqif_ids, from_reqif = _outcome(_reqif(tmp_path))
    needs_ids, from_needs = _outcome(_needs(tmp_path))
    expected_ids = [rid for rid, _ in REQUIREMENTS]
    assert reqif_ids == expected_ids and needs_ids == expected_ids
    assert {f[2] for f in in_markdown} >= {"NFR-9", "REG-2"}  # a planted defect, and a requirement not addressed
    assert from_reqif == in_markdown
    assert from_needs == in_markdown
