"""`evaluator trace` exports: CSV, JSON, needs.json read back as needimport reads it, ReqIF checked and parsed back."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evaluator.cli.main import app
from evaluator.documents.imports import read_requirements
from evaluator.documents.read import read_document
from evaluator.errors import EvaluatorError
from evaluator.grounding.matrix import TraceMatrix, trace_case
from evaluator.reports.traceability import check_reqif, to_csv, to_json, to_needs, to_reqif
from tests.support.data import DATASETS

GROUP = DATASETS / "loan-origination"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "imports"


@pytest.fixture(scope="module")
def matrix() -> TraceMatrix:
    return trace_case(
        read_requirements(GROUP / "docs" / "requirements.md"), read_document(GROUP / "sound" / "tech-design.md")
    )


def test_every_requirement_has_a_status_and_covered_ones_have_links(matrix: TraceMatrix) -> None:
    rows = {r.requirement.id: r for r in matrix.rows}
    assert {"FR-1", "NFR-9", "NFR-11"} <= set(rows)
    assert all(r.links for r in matrix.rows if r.status != "not_addressed")
    assert any(link.heading.startswith("8.4 Audit") for link in rows["NFR-7"].links)


def test_csv_has_one_row_per_link_marked_suggested(matrix: TraceMatrix) -> None:
    rows = list(csv.DictReader(io.StringIO(to_csv(matrix))))
    assert len(rows) == sum(max(len(r.links), 1) for r in matrix.rows)
    assert {r["state"] for r in rows if r["section"]} == {"suggested"}
    assert "\r" not in to_csv(matrix)


def test_json_rows_carry_status_source_and_links(matrix: TraceMatrix) -> None:
    data = json.loads(to_json(matrix))
    assert [r["id"] for r in data["rows"]] == [r.requirement.id for r in matrix.rows]
    first = data["rows"][0]
    assert set(first) >= {"status", "source", "line", "links"} and first["links"][0]["state"] == "suggested"


def _needimport(text: str) -> dict[str, dict[str, object]]:
    """Read a needs.json as sphinx-needs' needimport does: the current version (or the only one), its needs,
    each with string id/title/content, link fields as lists of ids; a duplicate id is an error."""
    data = json.loads(text)
    assert "current_version" in data and "project" in data  # CorruptedNeedsFile otherwise
    version = data["versions"][data["current_version"]]  # VersionNotFound otherwise
    assert set(version) >= {"created", "creator", "needs", "needs_amount"}
    needs = version["needs"]
    assert version["needs_amount"] == len(needs)
    for key, need in needs.items():
        assert need["id"] == key and all(isinstance(need[f], str) for f in ("id", "title", "content"))
        assert isinstance(need["links"], list) and isinstance(need["fulfils"], list)
    return needs


def test_needs_json_reads_back_as_needimport_reads_it(matrix: TraceMatrix) -> None:
    needs = _needimport(to_needs(matrix))
    linked = {link.section for row in matrix.rows for link in row.links}
    assert len(needs) == len(linked)
    requirement_ids = {r.requirement.id for r in matrix.rows}
    assert all(set(n["fulfils"]) <= requirement_ids and n["status"] == "suggested" for n in needs.values())  # type: ignore[arg-type]
    fulfilled = {rid for n in needs.values() for rid in n["fulfils"]}  # type: ignore[attr-defined]
    assert fulfilled == {r.requirement.id for r in matrix.rows if r.links}


def test_reqif_validates_and_parses_back_with_its_relations(matrix: TraceMatrix) -> None:
    from reqif.parser import ReqIFParser

    text = to_reqif(matrix)
    bundle = ReqIFParser.parse_from_string(text)
    content = bundle.core_content.req_if_content
    relations = content.spec_relations
    assert len(relations) == sum(len(r.links) for r in matrix.rows)
    assert {o.identifier for o in content.spec_objects} >= {r.target for r in relations} | {r.source for r in relations}


def test_reqif_relations_point_at_the_imported_requirements_own_identifiers(tmp_path: Path) -> None:
    from reqif.parser import ReqIFParser

    requirements = read_requirements(FIXTURES / "polarion_small.reqif")
    design = tmp_path / "tech-design.md"
    design.write_text("# Design\n\n## Lorem Ipsum\n\nThe Lorem Ipsum does something on every request.\n")
    text = to_reqif(trace_case(requirements, read_document(design)))
    relations = ReqIFParser.parse_from_string(text).core_content.req_if_content.spec_relations
    assert [r.target for r in relations] == ["rmf-1d312f18-fa7c-4de3-b8f3-ab105179fddf"]


def test_a_reqif_that_breaks_the_schema_is_refused() -> None:
    text = (FIXTURES / "polarion_small.reqif").read_text()
    with pytest.raises(EvaluatorError, match="does not validate against the ReqIF schema"):
        check_reqif(text.replace("<TITLE>", "<BOGUS/><TITLE>", 1))
    with pytest.raises(EvaluatorError, match="not well-formed XML"):
        check_reqif(text.replace("<THE-HEADER>", "<THE-HEADERS>", 1))


def test_trace_command_writes_each_format(tmp_path: Path) -> None:
    runner = CliRunner()
    base = ["trace", "-r", str(FIXTURES / "esp32-distance.needs.json"), "-d", str(GROUP / "sound" / "tech-design.md")]
    done = runner.invoke(app, [*base, "-f", "reqif", "-o", str(tmp_path / "links.reqif")])
    assert done.exit_code == 0, done.output
    check_reqif((tmp_path / "links.reqif").read_text())
    done = runner.invoke(app, [*base, "-f", "json"])
    assert done.exit_code == 0 and json.loads(done.stdout)["requirements_format"] == "needs"
    bad = tmp_path / "bad.reqif"
    bad.write_text("<REQ-IF>")
    done = runner.invoke(app, ["trace", "-r", str(bad), "-d", str(GROUP / "sound" / "tech-design.md")])
    assert done.exit_code != 0 and "bad.reqif is not valid ReqIF" in done.output and "Traceback" not in done.output


def test_trace_of_a_batch_case_whose_requirements_are_a_reqif_export(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = tmp_path / "batch" / "pump"
    case.mkdir(parents=True)
    (case / "tech-design.md").write_text(
        "# Pump design\n\n## Lorem Ipsum\n\nThe Lorem Ipsum does something on every call.\n"
    )
    (case / "requirements.reqif").write_bytes((FIXTURES / "polarion_small.reqif").read_bytes())
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    done = runner.invoke(app, ["batch", "batch", "--db", "e.duckdb", "--backend", "fake", "--parallel", "1"])
    assert done.exit_code == 0, done.output
    done = runner.invoke(app, ["trace", "--db", "e.duckdb", "pump/*", "-f", "json"])
    assert done.exit_code == 0, done.output
    data = json.loads(done.stdout)
    assert data["requirements_format"] == "reqif" and [r["id"] for r in data["rows"]] == ["LOREM-818"]
    assert data["rows"][0]["links"][0]["section"].endswith("Lorem Ipsum")
    done = runner.invoke(app, ["trace", "--db", "e.duckdb", "nope/*"])
    assert done.exit_code != 0 and "no reviewed case matches 'nope/*'" in done.output
