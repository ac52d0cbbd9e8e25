"""Baselines: a store or a SARIF file a gate wrote; anything else is one line and exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evaluator.cli.main import app
from evaluator.documents.read import parse_document
from evaluator.reports.baseline import BaselineError
from evaluator.reports.gate import GateOptions, evaluate, load_baseline
from evaluator.reports.gate_files import FINGERPRINT_KEY, sarif
from evaluator.review.record import Finding, Review
from evaluator.store import ReviewRecord, Store

runner = CliRunner()
DLQ = Finding(severity="critical", title="No DLQ", source="check", check_id="consumer-dead-letter",
              evidence_kind="shows", line_start=3)  # fmt: skip
AUTH = Finding(severity="critical", title="No auth", source="check", check_id="authentication",
               evidence_kind="shows", line_start=5)  # fmt: skip


def _store(path: Path, findings: dict[str, list[Finding]]) -> Path:
    with Store(path) as store:
        run = store.begin_run("batch", "x")
        for key, found in findings.items():
            design = parse_document(f"# {key}\n\n{len(found)} findings\n", Path(key))
            store.save(ReviewRecord(run, key, review=Review(title=key, profile="p", findings=found), design=design))
    return path


def test_a_store_and_its_sarif_give_the_same_baseline(tmp_path: Path) -> None:
    db = _store(tmp_path / "e.duckdb", {"a/tech-design.md": [DLQ, AUTH], "b/tech-design.md": [AUTH]})
    log = tmp_path / "gate.sarif"
    log.write_text(json.dumps(sarif(evaluate(db))))
    from_store, from_sarif = load_baseline(db), load_baseline(log)
    assert from_store.findings == from_sarif.findings
    assert {k: sorted(v) for k, v in from_store.findings.items()} == {
        "a/tech-design.md": sorted([DLQ.fingerprint, AUTH.fingerprint]),
        "b/tech-design.md": [AUTH.fingerprint],
    }


def test_new_unchanged_and_absent_against_the_baseline(tmp_path: Path) -> None:
    before = _store(tmp_path / "before.duckdb", {"a/tech-design.md": [DLQ]})
    after = _store(tmp_path / "after.duckdb", {"a/tech-design.md": [AUTH], "b/tech-design.md": [DLQ]})
    result = evaluate(after, GateOptions(baseline=load_baseline(before)))
    states = {(c.key, f.title): (f.baseline_state, f.breaks) for c in result.cases for f in c.findings}
    # b is a case the baseline never saw: everything in it is new
    assert states == {("a/tech-design.md", "No auth"): ("new", True), ("b/tech-design.md", "No DLQ"): ("new", True)}
    [a] = [c for c in result.cases if c.key == "a/tech-design.md"]
    assert [g.title for g in a.absent] == ["No DLQ"]
    results = sarif(result)["runs"][0]["results"]
    assert [(r["properties"]["title"], r["baselineState"]) for r in results] == [
        ("No auth", "new"), ("No DLQ", "absent"), ("No DLQ", "new"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not json at all", "is neither a DuckDB store nor a SARIF file"),
        (b'{"runs": 3}', "is not a SARIF log: 'runs' is not a list of objects"),
        (
            json.dumps({"runs": [{"results": [{"partialFingerprints": {"evaluatorFinding/v1": "abc"}}]}]}).encode(),
            f"has a result without an {FINGERPRINT_KEY} fingerprint and case",
        ),
    ],
)
def test_a_baseline_that_is_not_usable_is_one_line_and_exit_2(tmp_path: Path, content: bytes, message: str) -> None:
    db = _store(tmp_path / "e.duckdb", {"a/tech-design.md": [DLQ]})
    path = tmp_path / "baseline.sarif"
    path.write_bytes(content)
    with pytest.raises(BaselineError, match=message):
        load_baseline(path)
    result = runner.invoke(app, ["gate", "--db", str(db), "--baseline", str(path)])
    assert result.exit_code == 2, result.output
    assert len(result.stderr.strip().splitlines()) == 1 and "(see --baseline)" in result.stderr


def test_a_missing_baseline_is_exit_2(tmp_path: Path) -> None:
    db = _store(tmp_path / "e.duckdb", {"a/tech-design.md": [DLQ]})
    result = runner.invoke(app, ["gate", "--db", str(db), "--baseline", str(tmp_path / "nowhere.sarif")])
    assert result.exit_code == 2 and "no baseline at" in result.stderr
