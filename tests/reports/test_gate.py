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


def _save(store: Store, run: str, key: str, review: Review | None, *, fmt: str = "markdown") -> None:
    design = parse_document(f"# {key}\n\nbody of {key}\n", Path(key), source_format=fmt)
    record = ReviewRecord(run, key, review=review, design=design, status="ok" if review else "failed")
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
    assert [(r["ruleId"], r["level"]) for r in results] == [
        ("pan-stored-in-plain-text", "error"),
        ("no-dlq", "warning"),
        ("no-auth", "error"),
    ]
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results]
    assert uris == ["team/bad/tech-design.md", "team/bad/tech-design.md", "team/word/tech-design.docx"]
    again = sarif(evaluate(db, GateOptions(cases=("team/bad/*", "team/word/*"))))
    prints = [r["partialFingerprints"][FINGERPRINT_KEY] for r in results]
    assert prints == [r["partialFingerprints"][FINGERPRINT_KEY] for r in again["runs"][0]["results"]]
    assert len(set(prints)) == 3


def test_sarif_uses_check_and_requirement_ids_and_evidence_lines(tmp_path: Path) -> None:
    db = tmp_path / "grounded.duckdb"
    check = Finding(
        severity="critical", title="PAN stored in plain text", source="check", check_id="pii-plain-text",
        requirement_id="NFR-3", line_start=12, line_end=14,
    )  # fmt: skip
    coverage = Finding(severity="recommendation", title="FR-2 not addressed", source="coverage", requirement_id="FR-2")
    located = Finding(severity="suggestion", title="Add a diagram", line_start=4)
    converted = Finding(severity="critical", title="No auth", check_id="authn", line_start=7, line_end=7)
    with Store(db) as store:
        run = store.begin_run("batch", "x")
        _save(
            store, run, "team/bad/tech-design.md", Review(title="Bad", profile="p", findings=[check, coverage, located])
        )
        _save(
            store,
            run,
            "team/word/tech-design.docx",
            Review(title="Word", profile="p", findings=[converted]),
            fmt="docx",
        )
    log = sarif(evaluate(db))
    jsonschema.Draft4Validator(SCHEMA).validate(log)
    results = log["runs"][0]["results"]
    # rule id: the check, else the requirement, else a slug of the title
    assert [r["ruleId"] for r in results] == ["pii-plain-text", "FR-2", "add-a-diagram", "authn"]
    regions = [r["locations"][0]["physicalLocation"].get("region") for r in results]
    # No line: the whole file. The .docx design's line is the converted markdown's: the whole file,
    # the line said in the message.
    assert regions == [{"startLine": 12, "endLine": 14}, None, {"startLine": 4, "endLine": 4}, None]
    assert "line 7 of the markdown converted from this docx file" in results[3]["message"]["text"]
    rules = [r["id"] for r in log["runs"][0]["tool"]["driver"]["rules"]]
    assert rules == ["pii-plain-text", "FR-2", "add-a-diagram", "authn"]


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
