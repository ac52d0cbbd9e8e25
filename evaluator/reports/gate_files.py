"""The gate's result as files CI systems read: JUnit XML and SARIF 2.1.0.

JUnit (written with ``junitparser``): one test case per design; a failing case carries a
failure listing the findings that broke the gate (with a baseline: the new ones, marked so),
a case with no review an error; with a baseline each case's output names its new findings.

SARIF: one result per finding of the selected reviews. The rule is the same in every design:
a check's id, or one rule per kind of finding (a requirement not addressed, a requirement
decided against, prompt injection, a model's own finding, an ingested one) with the
requirement id in the message and properties — never a requirement id, which means one thing
in one requirements document and another elsewhere. Level from severity. Location: evidence
that shows something points at its lines in the design (in a design converted from rst,
AsciiDoc or HTML, the source lines its words came from, ``documents.source_map``; in a Word or
PDF design the whole file, with the paragraph or page in the message); a finding about
something absent has no quote, so it points at the requirement's line in the requirements
file when known, else at the design as a whole. ``partialFingerprints`` carry the finding's
fingerprint (stable across re-reviews and line moves), ``baselineState`` its state against a
baseline (new / unchanged, and a result for each baseline finding now absent), and
``suppressions`` the waiver that accepted it, with its justification.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from evaluator.documents.sources import SourceMap
from evaluator.reports.baseline import FINGERPRINT_KEY, BaselineFinding
from evaluator.reports.gate import (
    CONTRADICTED,
    INJECTION,
    MODEL,
    NOT_ADDRESSED,
    REVIEWER,
    GateCase,
    GateFinding,
    GateResult,
)
from evaluator.reports.waivers import Waiver
from evaluator.version import __version__

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
LEVELS = {"critical": "error", "recommendation": "warning", "suggestion": "note"}
__all__ = ["FINGERPRINT_KEY", "artifact_uri", "sarif", "write_junit", "write_sarif"]
# What a rule that stands for a kind of finding says (a check's rule says the check's title).
KINDS = {
    NOT_ADDRESSED: "A requirement is not addressed by the design",
    CONTRADICTED: "The design decides against a requirement",
    INJECTION: "A document contains text aimed at the reviewer (possible prompt injection)",
    MODEL: "A finding the model raised on its own",
    REVIEWER: "A finding of an ingested review",
}


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
        if result.options.baseline is not None and case.status != "missing":
            test.system_out = _new_text(case)
        suite.add_testcase(test)
    xml = JUnitXml("evaluator")
    xml.add_testsuite(suite)
    path.parent.mkdir(parents=True, exist_ok=True)
    xml.write(str(path), pretty=True)
    return path


def _failure_text(case: GateCase) -> str:
    lines = [f"design: {case.design_path or case.key}"]
    lines += [_line(f) for f in case.findings if f.breaks]
    return "\n".join(lines)


def _new_text(case: GateCase) -> str:
    new = [_line(f) for f in case.findings if f.baseline_state == "new"]
    gone = [f"[{b.severity}] {b.rule_id}: {b.title}" for b in case.absent]
    text = f"new against the baseline: {len(new)}" + "".join(f"\n  {line}" for line in new)
    return text + (f"\nno longer found: {len(gone)}" + "".join(f"\n  {line}" for line in gone) if gone else "")


def _line(f: GateFinding) -> str:
    where = f" (line {f.line})" if f.line else ""
    new = " [new]" if f.baseline_state == "new" else ""
    return f"[{f.severity}] {f.rule_id}: {f.title}{where}{new}" + (f" — {f.detail}" if f.detail else "")


def sarif(result: GateResult) -> dict[str, Any]:
    """The SARIF 2.1.0 log of every finding of the selected reviews (and, with a baseline, the absent ones)."""
    rules: dict[str, dict[str, Any]] = {}
    results = []

    def index(rule_id: str, title: str, severity: str) -> int:
        return int(rules.setdefault(rule_id, _rule(rule_id, title, severity, len(rules)))["index"])

    for case in result.cases:
        for f in case.findings:
            results.append(_result(case, f, index(f.rule_id, f.title, f.severity), result))
        for gone in case.absent:
            results.append(_absent(case, gone, index(gone.rule_id, gone.title, gone.severity)))
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


def _rule(rule_id: str, title: str, severity: str, index: int) -> dict[str, Any]:
    return {
        "index": index,
        "id": rule_id,
        "shortDescription": {"text": KINDS.get(rule_id, title)},
        "defaultConfiguration": {"level": LEVELS.get(severity, "warning")},
    }


def _result(case: GateCase, finding: GateFinding, rule_index: int, gate: GateResult) -> dict[str, Any]:
    physical, note = _location(case, finding)
    text = finding.title + (f": {finding.detail}" if finding.detail else "")
    if finding.requirement_id and finding.requirement_id not in text:
        text += f" (requirement {finding.requirement_id})"
    properties: dict[str, Any] = {
        "case": case.key, "severity": finding.severity, "breaksGate": finding.breaks, "title": finding.title,
    }  # fmt: skip
    if finding.requirement_id:
        properties["requirementId"] = finding.requirement_id
    result: dict[str, Any] = {
        "ruleId": finding.rule_id,
        "ruleIndex": rule_index,
        "level": LEVELS.get(finding.severity, "warning"),
        "message": {"text": text + note},
        "locations": [{"physicalLocation": physical}],
        "partialFingerprints": {FINGERPRINT_KEY: finding.fingerprint},
        "properties": properties,
    }
    if finding.baseline_state is not None:
        result["baselineState"] = finding.baseline_state
    if finding.waiver is not None and gate.options.waivers is not None:
        result["suppressions"] = [_suppression(finding.waiver, gate.options.waivers.path)]
    return result


def _suppression(w: Waiver, path: Path) -> dict[str, Any]:
    """A waiver as a SARIF suppression: accepted outside the design, with its justification."""
    properties = {"approvedBy": w.approved_by, "expires": w.expires.isoformat(), "waiver": w.describe(),
                  "waiversFile": str(path)}  # fmt: skip
    return {"kind": "external", "status": "accepted", "justification": w.justification, "properties": properties}


def _location(case: GateCase, finding: GateFinding) -> tuple[dict[str, Any], str]:
    """Where a result points, and what its message must add about it.

    Evidence that shows: its lines in the design. Something absent: the requirement's line in
    the requirements file, else the design as a whole. A converted file: its source lines where
    the source map knows them (rst, AsciiDoc, HTML); else the whole file, and the message gives
    the paragraph or page (Word, PDF) and the line of the converted markdown.
    """
    if finding.evidence_kind == "absent":
        if finding.requirement_line and case.requirements_path:
            return _region(case.requirements_path, finding.requirement_line, None, case.requirements_converted,
                           case.requirements_format, case.requirements_map, "requirement")  # fmt: skip
        return {"artifactLocation": {"uri": artifact_uri(case.design_path or case.key)}}, ""
    return _region(case.design_path or case.key, finding.line, finding.end_line, case.converted,
                   case.source_format, case.design_map, "evidence")  # fmt: skip


def _region(
    path: str, line: int | None, end: int | None, converted: bool, fmt: str, mapped: SourceMap | None, what: str
) -> tuple[dict[str, Any], str]:
    """A SARIF physical location (SARIF 2.1.0 §3.29, ``region`` §3.30: 1-based lines) and a note for the message."""
    physical: dict[str, Any] = {"artifactLocation": {"uri": artifact_uri(path)}}
    if not line:
        return physical, ""
    if not converted:
        physical["region"] = {"startLine": line, "endLine": max(end or 0, line)}
        return physical, ""
    span = mapped.span(line, end) if mapped else None
    if span and mapped and mapped.unit == "line":
        physical["region"] = {"startLine": span[0], "endLine": span[1]}
        return physical, f" (line {line} of the markdown converted from this {fmt} file)"
    converted_line = f"line {line} of the markdown converted from this {fmt} file"
    if span and mapped:  # a Word paragraph or a PDF page: SARIF regions have neither
        unit = mapped.unit if span[0] == span[1] else f"{mapped.unit}s"
        at = f"{span[0]}" if span[0] == span[1] else f"{span[0]}–{span[1]}"
        return physical, f" (the {what} is at {unit} {at} of this {fmt} file, {converted_line})"
    return physical, f" (the {what} is at {converted_line})"


def _absent(case: GateCase, gone: BaselineFinding, rule_index: int) -> dict[str, Any]:
    """A finding of the baseline that the latest review no longer has."""
    return {
        "ruleId": gone.rule_id,
        "ruleIndex": rule_index,
        "level": LEVELS.get(gone.severity, "warning"),
        "message": {"text": f"{gone.title} (in the baseline, no longer found)"},
        "locations": [{"physicalLocation": {"artifactLocation": {"uri": artifact_uri(case.design_path or case.key)}}}],
        "partialFingerprints": {FINGERPRINT_KEY: gone.fingerprint},
        "baselineState": "absent",
        "properties": {"case": case.key, "severity": gone.severity, "breaksGate": False, "title": gone.title},
    }


def artifact_uri(path: str) -> str:
    """A repository-relative URI where the design lies under the working folder, else a file URI."""
    candidate = Path(os.path.normpath(path))  # 'pd/case/../requirements.md' -> 'pd/requirements.md'
    if not candidate.is_absolute():
        return candidate.as_posix()
    try:
        return candidate.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return candidate.as_uri()
