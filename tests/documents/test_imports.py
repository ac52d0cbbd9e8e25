"""Requirements from ReqIF, needs.json, Doorstop trees, CSV and XLSX (evaluator.documents.imports).

The ReqIF and needs.json inputs are real tools' exports (tests/fixtures/imports/SOURCES.md): a
Polarion and a ReqIF Studio export from the reqif package's test data (Apache-2.0) and the
needs.json of a sphinx-needs project (MIT)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evaluator.batch.cases import discover
from evaluator.documents.imports import import_format, read_requirements
from evaluator.errors import DocumentError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "imports"


def test_a_polarion_export_gives_its_work_item_with_title_heading_and_spec_object() -> None:
    doc = read_requirements(FIXTURES / "polarion_small.reqif")
    (req,) = doc.requirements or ()
    assert (req.id, req.text) == ("LOREM-818", "SW: Lorem Ipsum — The Lorem Ipsum shall do something.")
    assert req.section == "Test export › Test Export › Section 1"  # header title › specification › heading
    assert req.source == "polarion_small.reqif: SPEC-OBJECT rmf-1d312f18-fa7c-4de3-b8f3-ab105179fddf"
    assert doc.text.split("\n")[req.line - 1] == f"- **LOREM-818**: {req.text}"  # the line the review cites
    assert (doc.source_format, doc.converter) == ("reqif", doc.converter) and doc.converter.startswith("reqif ")


def test_a_reqif_studio_export_says_what_it_could_not_read() -> None:
    doc = read_requirements(FIXTURES / "reqif-studio_anonymized.reqif")
    assert len(doc.requirements or ()) == 137
    assert any("point to SPEC-OBJECTs the file does not hold" in n for n in doc.notes)  # anonymised: a dangling ref
    assert any("occur more than once" in n for n in doc.notes)  # every ForeignID was anonymised to one value
    assert len({r.id for r in doc.requirements or ()}) == 137


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("<REQ-IF>", "is not valid ReqIF: Premature end of data"),
        ('<?xml version="1.0"?><SPEC>not reqif</SPEC>', "is not valid ReqIF: Expected root tag to be REQ-IF"),
        ("", "is not valid ReqIF"),
    ],
)
def test_a_malformed_reqif_gets_one_line_naming_the_file(tmp_path: Path, content: str, problem: str) -> None:
    path = tmp_path / "reqs.reqif"
    path.write_text(content)
    with pytest.raises(DocumentError) as caught:
        read_requirements(path)
    message = str(caught.value)
    assert str(path) in message and problem in message and "\n" not in message


def test_a_needs_json_gives_its_requirements_and_stories_not_its_specs() -> None:
    doc = read_requirements(FIXTURES / "esp32-distance.needs.json")
    reqs = {r.id: r for r in doc.requirements or ()}
    assert len(reqs) == 83 + 6  # req and story needs; 192 spec/api needs are not requirements
    assert "192 need(s) of other types (apicomponent, apifunction, apistruct, spec)" in doc.notes[0]
    first = reqs["REQ_CFG_JSON_1"]
    assert first.text.startswith("JSON Schema as Configuration Source of Truth — Description: The configuration")
    assert "**" not in first.text and first.mandatory
    assert first.section.endswith("JSON-Based Configuration Manager Requirements › Configuration Schema Definition")
    assert (
        first.source
        == "esp32-distance.needs.json: need REQ_CFG_JSON_1 (11_requirements/req_config_manager_json, line 18)"
    )


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ("{", "is not valid JSON"),
        ('{"project": "x"}', 'not a sphinx-needs needs.json (no "versions" object)'),
        ('{"current_version": "2.0", "versions": {"1.0": {}, "1.1": {}}}', "current_version '2.0' is not among"),
        ('{"current_version": "1.0", "versions": {"1.0": {"needs": []}}}', 'has no "needs" object'),
    ],
)
def test_a_malformed_needs_json_gets_one_line(tmp_path: Path, data: str, problem: str) -> None:
    path = tmp_path / "needs.json"
    path.write_text(data)
    with pytest.raises(DocumentError, match=r"needs\.json") as caught:
        read_requirements(path)
    assert problem in str(caught.value)


JAMA_CSV = """Project: Payroll;;;
ID;Name;Description;Folder
PAY-12;Gross to net;The system shall compute gross-to-net pay for every employee in a run.;Payroll run
PAY-13;Payslips;Payslips shall be kept for seven years.;Archive
;;;
PAY-14;;;
"""


def test_a_csv_export_with_a_preamble_and_semicolons(tmp_path: Path) -> None:
    path = tmp_path / "requirements.csv"
    path.write_text(JAMA_CSV, encoding="utf-8")
    doc = read_requirements(path)
    reqs = list(doc.requirements or ())
    assert [(r.id, r.text) for r in reqs] == [
        ("PAY-12", "Gross to net — The system shall compute gross-to-net pay for every employee in a run."),
        ("PAY-13", "Payslips — Payslips shall be kept for seven years."),
    ]
    assert reqs[0].section.endswith("Payroll run") and reqs[1].source == "requirements.csv: row 4"
    assert doc.notes == ("1 row(s) without an id or a text: skipped",)


def test_a_table_without_an_id_column_says_which_columns_it_has(tmp_path: Path) -> None:
    path = tmp_path / "requirements.csv"
    path.write_text("Summary,Priority\nPay people,High\n")
    with pytest.raises(DocumentError, match=r"has no id column \(its header: 'Summary', 'Priority'\)"):
        read_requirements(path)


def test_an_xlsx_export_reads_its_first_sheet(tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Requirements"
    sheet.append(["Requirement ID", "Requirement Text", "Chapter"])
    sheet.append(["SYS-1", "The pump shall stop within 50 ms of an occlusion alarm.", "Safety"])
    sheet.append(["SYS-2", "Dose limits shall be configurable per drug library entry.", "Therapy"])
    path = tmp_path / "requirements.xlsx"
    book.save(path)
    reqs = list(read_requirements(path).requirements or ())
    assert [r.id for r in reqs] == ["SYS-1", "SYS-2"]
    assert reqs[0].source == "requirements.xlsx: Requirements row 2" and reqs[0].section.endswith("Safety")


def test_a_broken_xlsx_gets_one_line(tmp_path: Path) -> None:
    path = tmp_path / "requirements.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(DocumentError, match="is not a readable XLSX workbook"):
        read_requirements(path)


def _doorstop(root: Path) -> Path:
    reqs = root / "reqs"
    (reqs / "llr").mkdir(parents=True)
    (reqs / ".doorstop.yml").write_text("settings:\n  digits: 3\n  prefix: REQ\n  sep: ''\n")
    (reqs / "REQ001.yml").write_text("active: true\nlevel: '1.0'\nnormative: false\nheader: Dosing\ntext: ''\n")
    (reqs / "REQ002.yml").write_text(
        "active: true\nlevel: '1.1'\nnormative: true\nheader: Bolus limit\nlinks: []\n"
        "text: |\n  The pump shall refuse a bolus above the drug library's hard limit.\n"
    )
    (reqs / "REQ003.yml").write_text("active: false\nlevel: '1.2'\ntext: Retired requirement.\n")
    (reqs / "REQ004.md").write_text(
        "---\nactive: true\nlevel: '2.1'\nnormative: true\n---\n"
        "# Alarm log\n\nEvery alarm shall be logged with a timestamp.\n"
    )
    (reqs / "llr" / ".doorstop.yml").write_text("settings:\n  digits: 3\n  prefix: LLR\n  sep: '-'\n  parent: REQ\n")
    (reqs / "llr" / "LLR-001.yml").write_text(
        "level: '1'\ntext: The bolus handler shall compare the request with the limit table.\nlinks:\n- REQ002: null\n"
    )
    return reqs


def test_a_doorstop_tree_gives_active_normative_items_under_their_headings(tmp_path: Path) -> None:
    tree = _doorstop(tmp_path)
    assert import_format(tree) == "doorstop" and import_format(tree / ".doorstop.yml") == "doorstop"
    doc = read_requirements(tree)
    reqs = {r.id: r for r in doc.requirements or ()}
    assert list(reqs) == ["REQ002", "REQ004", "LLR-001"]  # the parent document first; REQ003 is inactive
    assert reqs["REQ002"].text == "Bolus limit — The pump shall refuse a bolus above the drug library's hard limit."
    assert reqs["REQ002"].section == "reqs › REQ › Dosing" and reqs["REQ002"].source == "REQ002.yml"
    assert reqs["REQ004"].text == "Alarm log — Every alarm shall be logged with a timestamp."
    assert reqs["LLR-001"].source == "llr/LLR-001.yml"
    assert doc.notes == ("1 inactive item(s) (active: false) left out",)


def test_a_broken_doorstop_item_names_the_file_and_line(tmp_path: Path) -> None:
    tree = _doorstop(tmp_path)
    (tree / "REQ005.yml").write_text("text: [unclosed\nlevel: 3\n")
    with pytest.raises(DocumentError, match=r"REQ005\.yml is not valid YAML at line \d"):
        read_requirements(tree)


def test_batch_finds_an_export_beside_the_designs(tmp_path: Path) -> None:
    case = tmp_path / "svc"
    case.mkdir()
    (case / "tech-design.md").write_text("# Design\n\nThe pump stops.\n")
    (case / "requirements.reqif").write_bytes((FIXTURES / "polarion_small.reqif").read_bytes())
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "tech-design.md").write_text("# Other\n")
    (tmp_path / "other" / "needs.json").write_text(json.dumps({"versions": {}}))
    found = {c.key: c.requirements for c in discover(tmp_path)}
    assert found["svc/tech-design.md"] == case / "requirements.reqif"
    assert found["other/tech-design.md"] == tmp_path / "other" / "needs.json"
