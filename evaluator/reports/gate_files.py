"""The gate's result as files CI systems read: JUnit XML and SARIF 2.1.0.

JUnit (written with ``junitparser``): one test case per design; a failing case carries a
failure listing the findings that broke the gate, a case with no review an error. SARIF:
one result per finding of the selected reviews, rule id = the finding's check or
requirement id (a slug of its title when it has neither), level from severity, location =
the design file and the evidence line, or the whole file when there is no line or the
design was converted from another format (its lines are the converted markdown's, not
the file's). ``partialFingerprints`` come from the case, rule, title and evidence, so a
re-run of the same review does not open new alerts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from evaluator.reports.gate import GateCase, GateFinding, GateResult
from evaluator.version import __version__

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
LEVELS = {"critical": "error", "recommendation": "warning", "suggestion": "note"}
FINGERPRINT_KEY = "evaluatorFinding/v1"


def write_junit(result: GateResult, path: Path) -> Path:
    """Write the JUnit XML file; return its path."""
    from junitparser import Error, Failure, JUnitXml, TestCase, TestSuite

    suite = TestSuite("evaluator gate")
    for case in result.cases:
        test = TestCase(case.key, classname="evaluator.reports.gate")
        if case.status == "fail":
            failure = Failure("; ".join(case.reasons), "gate")
            failure.text = _failure_text(case)
            test.result = [failure]
        elif case.status == "missing":
            test.result = [Error("; ".join(case.reasons), "no-review")]
        suite.add_testcase(test)
    xml = JUnitXml("evaluator")
    xml.add_testsuite(suite)
    path.parent.mkdir(parents=True, exist_ok=True)
    xml.write(str(path), pretty=True)
    return path


def _failure_text(case: GateCase) -> str:
    lines = [f"design: {case.design_path or case.key}"]
    for f in (f for f in case.findings if f.breaks):
        where = f" (line {f.line})" if f.line else ""
        lines.append(f"[{f.severity}] {f.rule_id}: {f.title}{where}" + (f" — {f.detail}" if f.detail else ""))
    return "\n".join(lines)


def sarif(result: GateResult) -> dict[str, Any]:
    """The SARIF 2.1.0 log of every finding of the selected reviews."""
    rules: dict[str, dict[str, Any]] = {}
    results = []
    for case in result.cases:
        for finding in case.findings:
            rule = rules.setdefault(finding.rule_id, _rule(finding, len(rules)))
            results.append(_result(case, finding, rule["index"]))
    driver = {
        "name": "evaluator",
        "version": __version__,
        "rules": [{k: v for k, v in r.items() if k != "index"} for r in rules.values()],
    }
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [{"tool": {"driver": driver}, "results": results}]}


def write_sarif(result: GateResult, path: Path) -> Path:
    """Write the SARIF file; return its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(sarif(result), indent=2) + "\n", encoding="utf-8")
    return path


def _rule(finding: GateFinding, index: int) -> dict[str, Any]:
    return {
        "index": index,
        "id": finding.rule_id,
        "shortDescription": {"text": finding.title},
        "defaultConfiguration": {"level": LEVELS.get(finding.severity, "warning")},
    }


def _result(case: GateCase, finding: GateFinding, rule_index: int) -> dict[str, Any]:
    text = finding.title + (f": {finding.detail}" if finding.detail else "")
    if finding.line and case.converted:
        text += f" (line {finding.line} of the markdown converted from this {case.source_format} file)"
    physical: dict[str, Any] = {"artifactLocation": {"uri": artifact_uri(case.design_path or case.key)}}
    if finding.line and not case.converted:
        physical["region"] = {"startLine": finding.line, "endLine": max(finding.end_line or 0, finding.line)}
    return {
        "ruleId": finding.rule_id,
        "ruleIndex": rule_index,
        "level": LEVELS.get(finding.severity, "warning"),
        "message": {"text": text},
        "locations": [{"physicalLocation": physical}],
        "partialFingerprints": {FINGERPRINT_KEY: finding.fingerprint},
        "properties": {"case": case.key, "severity": finding.severity, "breaksGate": finding.breaks},
    }


def artifact_uri(path: str) -> str:
    """A repository-relative URI where the design lies under the working folder, else a file URI."""
    candidate = Path(path)
    if not candidate.is_absolute():
        return candidate.as_posix()
    try:
        return candidate.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return candidate.as_uri()
