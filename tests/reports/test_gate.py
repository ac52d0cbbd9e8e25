"""`evaluator gate`: exit codes, JUnit that a JUnit reader parses, SARIF valid against the 2.1.0 schema."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from junitparser import Error, Failure, JUnitXml
from typer.testing import CliRunner

from evaluator.cli.main import app
from evaluator.documents.read import parse_document
from evaluator.documents.sources import SourceMap
from evaluator.reports.gate import GateOptions, evaluate
from evaluator.reports.gate_files import FINGERPRINT_KEY, sarif
from evaluator.review.record import Finding, Review
from evaluator.store import ReviewRecord, Store
from tests.support.data import SCHEMAS

runner = CliRunner()
SCHEMA = json.loads((SCHEMAS / "sarif-schema-2.1.0.json").read_text())


def _review(title: str, completeness: float, *findings: tuple[str, str]) -> Review:
    return Review(
        title=title,
        profile="p",
        completeness_score=completeness,
        findings=[Finding(severity=s, title=t, detail=f"why {t}", evidence=f"quote of {t}") for s, t in findings],  # type: ignore[arg-type]
    )


def _save(
    store: Store,
    run: str,
    key: str,
    review: Review | None,
    *,
    fmt: str = "markdown",
    requirements: str = "",
    source_map: SourceMap | None = None,
) -> None:
    design = parse_document(f"# {key}\n\nbody of {key}\n", Path(key), source_format=fmt, source_map=source_map)
    wanted = parse_document(requirements, Path(key).parent / "requirements.md") if requirements else None
    record = ReviewRecord(
        run, key, review=review, design=design, requirements=wanted, status="ok" if review else "failed"
    )
    record.error = None if review else "timed out: the review took longer than 60 s"
    store.save(record)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "e.duckdb"
    with Store(path) as store:
        run = store.begin_run("batch", "x")
        _save(store, run, "team/ok/tech-design.md", _review("Ok", 8, ("suggestion", "Add a diagram")))
        _save(
            store,
            run,
            "team/bad/tech-design.md",
            _review("Bad", 7, ("critical", "PAN stored in plain text"), ("recommendation", "No DLQ")),
        )
        _save(store, run, "team/thin/tech-design.md", _review("Thin", 3, ("recommendation", "No retry policy")))
        _save(store, run, "team/word/tech-design.docx", _review("Word", 8, ("critical", "No auth")), fmt="docx")
        _save(store, run, "team/broken/tech-design.md", None)
    return path


def _keys(result: Any, status: str) -> set[str]:
    return {c.key for c in result.cases if c.status == status}


def test_exit_codes_follow_the_thresholds(db: Path) -> None:
    only = ("team/ok/*", "team/bad/*", "team/thin/*")
    result = evaluate(db, GateOptions(cases=only))
    assert (_keys(result, "fail"), result.exit_code) == ({"team/bad/tech-design.md"}, 1)
    result = evaluate(db, GateOptions(fail_on="recommendation", cases=only))
    assert _keys(result, "fail") == {"team/bad/tech-design.md", "team/thin/tech-design.md"}
    result = evaluate(db, GateOptions(min_completeness=5, cases=("team/ok/*", "team/thin/*")))
    assert (_keys(result, "fail"), result.exit_code) == ({"team/thin/tech-design.md"}, 1)
    [thin] = [c for c in result.cases if c.status == "fail"]
    assert thin.reasons == ["completeness 3/10 is below 5"]
    assert evaluate(db, GateOptions(cases=("team/ok/*",))).exit_code == 0


def test_no_review_for_a_selected_case_is_exit_3(db: Path, tmp_path: Path) -> None:
    result = evaluate(db, GateOptions(cases=("team/broken/*", "team/ok/*")))
    assert (_keys(result, "missing"), result.exit_code) == ({"team/broken/tech-design.md"}, 3)
    assert "timed out" in result.cases[0].reasons[0]
    result = evaluate(db, GateOptions(cases=("nowhere/*",)))
    assert (result.exit_code, result.cases[0].reasons) == (3, ["no case in the store matches 'nowhere/*'"])
    assert evaluate(db).exit_code == 3  # the broken case is selected too, and wins over the failing ones
    empty = tmp_path / "empty.duckdb"
    Store(empty).close()
    assert evaluate(empty).exit_code == 3


def test_sarif_is_valid_2_1_0_with_one_result_per_finding_and_stable_fingerprints(db: Path) -> None:
    log = sarif(evaluate(db, GateOptions(cases=("team/bad/*", "team/word/*"))))
    jsonschema.Draft4Validator(SCHEMA).validate(log)
    results = log["runs"][0]["results"]
    # Findings of ingested reviews: one rule for all of them, never a rule per title.
    assert [(r["ruleId"], r["level"]) for r in results] == [
        ("review-finding", "error"),
        ("review-finding", "warning"),
        ("review-finding", "error"),
    ]
    assert [r["properties"]["title"] for r in results] == ["PAN stored in plain text", "No DLQ", "No auth"]
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results]
    assert uris == ["team/bad/tech-design.md", "team/bad/tech-design.md", "team/word/tech-design.docx"]
    again = sarif(evaluate(db, GateOptions(cases=("team/bad/*", "team/word/*"))))
    prints = [r["partialFingerprints"][FINGERPRINT_KEY] for r in results]
    assert prints == [r["partialFingerprints"][FINGERPRINT_KEY] for r in again["runs"][0]["results"]]
    assert len(set(prints)) == 3
    assert "baselineState" not in results[0] and "suppressions" not in results[0]  # no baseline, no waivers


def test_sarif_rules_are_checks_or_kinds_and_locations_follow_the_evidence(tmp_path: Path) -> None:
    db = tmp_path / "grounded.duckdb"
    check = Finding(
        severity="critical", title="PAN stored in plain text", source="check", check_id="pii-plain-text",
        requirement_id="NFR-3", line_start=12, line_end=14, evidence_kind="shows",
    )  # fmt: skip
    missing = Finding(
        severity="recommendation", title="FR-2 is not addressed by the design", source="coverage",
        requirement_id="FR-2", requirement_line=4, evidence_kind="absent",
    )  # fmt: skip
    against = Finding(
        severity="critical", title="The design decides against FR-1", source="coverage", requirement_id="FR-1",
        line_start=2, line_end=2, evidence_kind="shows",
    )  # fmt: skip
    unplaced = Finding(
        severity="suggestion", title="The design has no testing strategy", source="check", check_id="testing",
        evidence_kind="absent", line_start=9,
    )  # fmt: skip
    located = Finding(severity="suggestion", title="Add a diagram", source="model", line_start=4)
    converted = Finding(
        severity="critical", title="No auth", source="check", check_id="authn", line_start=7, line_end=7,
        evidence_kind="shows",
    )  # fmt: skip
    absent_in_docx = Finding(
        severity="recommendation", title="FR-9 is not addressed by the design", source="coverage",
        requirement_id="FR-9", requirement_line=3, evidence_kind="absent",
    )  # fmt: skip
    requirements = "# Requirements\n\nFR-1: accept async.\n\nFR-2: encrypt.\n"
    with Store(db) as store:
        run = store.begin_run("batch", "x")
        review = Review(title="Bad", profile="p", findings=[check, missing, against, unplaced, located])
        _save(store, run, "team/bad/tech-design.md", review, requirements=requirements)
        word = Review(title="Word", profile="p", findings=[converted, absent_in_docx])
        _save(store, run, "team/word/tech-design.docx", word, fmt="docx")
    log = sarif(evaluate(db))
    jsonschema.Draft4Validator(SCHEMA).validate(log)
    results = log["runs"][0]["results"]
    assert [r["ruleId"] for r in results] == [
        "pii-plain-text", "requirement-not-addressed", "requirement-contradicted", "testing", "model-finding",
        "authn", "requirement-not-addressed",
    ]  # fmt: skip
    where = [
        (loc["artifactLocation"]["uri"], loc.get("region"))
        for loc in (r["locations"][0]["physicalLocation"] for r in results)
    ]
    assert where == [
        ("team/bad/tech-design.md", {"startLine": 12, "endLine": 14}),  # evidence that shows: its lines
        ("team/bad/requirements.md", {"startLine": 4, "endLine": 4}),  # an absence: the requirement's line
        ("team/bad/tech-design.md", {"startLine": 2, "endLine": 2}),
        ("team/bad/tech-design.md", None),  # an absence with no requirement: the design, never a stray line
        ("team/bad/tech-design.md", {"startLine": 4, "endLine": 4}),
        ("team/word/tech-design.docx", None),  # converted: the whole file, the line said in the message
        ("team/word/tech-design.docx", None),  # an absence whose requirements file is not known: the design
    ]
    assert "line 7 of the markdown converted from this docx file" in results[5]["message"]["text"]
    assert "(requirement NFR-3)" in results[0]["message"]["text"]
    assert [r["properties"].get("requirementId") for r in results] == [
        "NFR-3",
        "FR-2",
        "FR-1",
        None,
        None,
        None,
        "FR-9",
    ]
    rules = {r["id"]: r["shortDescription"]["text"] for r in log["runs"][0]["tool"]["driver"]["rules"]}
    assert rules["requirement-not-addressed"] == "A requirement is not addressed by the design"
    assert rules["requirement-contradicted"] == "The design decides against a requirement"
    assert rules["pii-plain-text"] == "PAN stored in plain text"  # a check's rule: the check's title


def test_sarif_points_at_the_source_lines_of_a_converted_design_and_names_a_word_paragraph(tmp_path: Path) -> None:
    db = tmp_path / "e.duckdb"
    at_7 = Finding(severity="critical", title="No auth", source="check", check_id="authn", line_start=7, line_end=8,
                   evidence_kind="shows")  # fmt: skip
    unmapped = Finding(severity="critical", title="No DLQ", source="check", check_id="dlq", line_start=9,
                       evidence_kind="shows")  # fmt: skip
    # markdown lines 7 and 8 came from source lines 31-33 and 35; line 9 from nowhere the words could tell
    lines = SourceMap("tech-design.rst", "line", (None,) * 6 + ((31, 33), (35, 35), None))
    paragraphs = SourceMap("tech-design.docx", "paragraph", (None,) * 6 + ((12, 12), (12, 12), None))
    with Store(db) as store:
        run = store.begin_run("batch", "x")
        rst = Review(title="Rst", profile="p", findings=[at_7, unmapped])
        _save(store, run, "team/rst/tech-design.rst", rst, fmt="rst", source_map=lines)
        _save(store, run, "team/word/tech-design.docx", Review(title="W", profile="p", findings=[at_7]), fmt="docx",
              source_map=paragraphs)  # fmt: skip
    log = sarif(evaluate(db))
    jsonschema.Draft4Validator(SCHEMA).validate(log)
    results = log["runs"][0]["results"]
    where = [(r["locations"][0]["physicalLocation"].get("region"), r["message"]["text"]) for r in results]
    assert where[0][0] == {"startLine": 31, "endLine": 35}  # the rst file's own lines
    assert "(line 7 of the markdown converted from this rst file)" in where[0][1]
    assert (
        where[1][0] is None
        and "(the evidence is at line 9 of the markdown converted from this rst file)" in where[1][1]
    )
    assert where[2][0] is None  # a paragraph is no SARIF region: the whole file, the paragraph said
    assert "(the evidence is at paragraph 12 of this docx file, line 7 of the markdown converted" in where[2][1]


def test_a_requirement_id_is_never_a_rule_id_so_rules_mean_the_same_in_every_design(tmp_path: Path) -> None:
    """'5.1' is the glossary in one requirements document and payments in another: one rule for both."""
    db = tmp_path / "e.duckdb"
    with Store(db) as store:
        run = store.begin_run("batch", "x")
        for key, text in (("a/tech-design.md", "Glossary"), ("b/tech-design.md", "Card payments shall be refunded")):
            finding = Finding(
                severity="recommendation", title="5.1 is not addressed by the design", detail=text,
                source="coverage", requirement_id="5.1", evidence_kind="absent",
            )  # fmt: skip
            _save(store, run, key, Review(title=key, profile="p", findings=[finding]))
    log = sarif(evaluate(db))
    assert [r["id"] for r in log["runs"][0]["tool"]["driver"]["rules"]] == ["requirement-not-addressed"]
    assert {r["ruleId"] for r in log["runs"][0]["results"]} == {"requirement-not-addressed"}
    assert all(r["properties"]["requirementId"] == "5.1" for r in log["runs"][0]["results"])


def test_cli_gate_writes_junit_and_sarif_and_exits_1(db: Path, tmp_path: Path) -> None:
    junit, sarif_file = tmp_path / "out" / "gate.xml", tmp_path / "out" / "gate.sarif"
    args = ["gate", "--db", str(db), "--case", "team/ok/*", "--case", "team/bad/*", "--case", "team/word/*"]
    result = runner.invoke(app, [*args, "--junit", str(junit), "--sarif", str(sarif_file)])
    assert result.exit_code == 1, result.output
    assert "✗ team/bad/tech-design.md: 1 finding(s) at or above critical" in result.stderr
    assert "[critical] PAN stored in plain text" in result.stderr
    xml = JUnitXml.fromfile(str(junit))
    cases = {case.name: case for suite in xml for case in suite}
    assert set(cases) == {"team/ok/tech-design.md", "team/bad/tech-design.md", "team/word/tech-design.docx"}
    assert cases["team/ok/tech-design.md"].is_passed
    [failure] = cases["team/bad/tech-design.md"].result
    assert isinstance(failure, Failure) and "PAN stored in plain text" in (failure.text or "")
    assert "No DLQ" not in (failure.text or "")  # a recommendation does not break a critical gate
    jsonschema.Draft4Validator(SCHEMA).validate(json.loads(sarif_file.read_text()))


def test_cli_gate_missing_review_is_exit_3_and_an_error_in_junit(db: Path, tmp_path: Path) -> None:
    junit = tmp_path / "gate.xml"
    result = runner.invoke(app, ["gate", "--db", str(db), "--case", "team/broken/*", "--junit", str(junit)])
    assert result.exit_code == 3, result.output
    [case] = [case for suite in JUnitXml.fromfile(str(junit)) for case in suite]
    assert isinstance(case.result[0], Error)


@pytest.mark.parametrize(
    "args",
    [
        ["--fail-on", "blocker"],
        ["--min-completeness", "11"],
    ],
)
def test_cli_gate_usage_errors_are_exit_2(db: Path, args: list[str]) -> None:
    assert runner.invoke(app, ["gate", "--db", str(db), *args]).exit_code == 2


def test_a_db_that_is_not_duckdb_is_one_line_and_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "logs.db"
    sqlite3.connect(path).execute("CREATE TABLE t (x)").connection.commit()
    for command in (["gate"], ["sql", "SELECT 1"], ["trends"]):
        result = runner.invoke(app, [*command, "--db", str(path)])
        assert result.exit_code == 2, (command, result.output)
        assert "is not a DuckDB database (a SQLite database)" in result.stderr
        assert "extension" not in result.stderr and "Traceback" not in result.output
    missing = runner.invoke(app, ["gate", "--db", str(tmp_path / "none.duckdb")])
    assert missing.exit_code == 2 and "no database at" in missing.stderr
