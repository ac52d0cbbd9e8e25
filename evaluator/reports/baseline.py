"""Baselines: the findings a gate compares against, so that it fails only on new ones.

A baseline is either a store (the latest review of each case in another DuckDB file, e.g.
a copy kept from the main branch) or a SARIF file an earlier gate wrote. Either way it is a
set of findings by case key and fingerprint (:attr:`evaluator.review.record.Finding.fingerprint`,
the value of :data:`FINGERPRINT_KEY` in a SARIF result's ``partialFingerprints``). Reading a
store is :func:`evaluator.reports.gate.load_baseline`'s part; the SARIF side is here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evaluator.errors import EvaluatorError

FINGERPRINT_KEY = "evaluatorFinding/v2"  # v1 (before findings had a stored fingerprint) hashed case, title and quote
_DUCKDB_MAGIC = b"DUCK"


class BaselineError(EvaluatorError):
    """A baseline cannot be used: missing, neither a store nor a SARIF file, or a SARIF file without fingerprints."""


@dataclass(frozen=True)
class BaselineFinding:
    """A finding of the baseline: enough to report it as ``absent`` when it is gone."""

    case: str
    fingerprint: str
    rule_id: str
    severity: str
    title: str


@dataclass
class Baseline:
    """The baseline's findings, by case key and fingerprint."""

    source: Path
    findings: dict[str, dict[str, BaselineFinding]] = field(default_factory=dict)

    def add(self, finding: BaselineFinding) -> None:
        """Record one finding (the first of a fingerprint in a case wins)."""
        self.findings.setdefault(finding.case, {}).setdefault(finding.fingerprint, finding)

    def has(self, case: str, fingerprint: str) -> bool:
        """Whether the baseline holds this finding in this case."""
        return fingerprint in self.findings.get(case, {})

    def of(self, case: str) -> list[BaselineFinding]:
        """The baseline's findings of one case."""
        return list(self.findings.get(case, {}).values())


def is_store(path: Path) -> bool:
    """Whether ``path`` is a DuckDB file (by its header). Raises BaselineError when it cannot be read."""
    try:
        with path.open("rb") as f:
            return f.read(16)[8:12] == _DUCKDB_MAGIC
    except FileNotFoundError:
        raise BaselineError(f"no baseline at {path} — pass a store or a SARIF file", settings=("baseline",)) from None
    except OSError as exc:
        raise BaselineError(f"cannot read the baseline {path}: {exc.strerror or exc}", settings=("baseline",)) from None


def sarif_baseline(path: Path) -> Baseline:
    """The findings of a SARIF file an evaluator gate wrote (results marked ``absent`` are not findings)."""
    try:
        log = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise BaselineError(
            f"the baseline {path} is neither a DuckDB store nor a SARIF file", settings=("baseline",)
        ) from None
    results = [r for run in _list(log, "runs") for r in _list(run, "results")]
    baseline = Baseline(path)
    for result in results:
        if result.get("baselineState") == "absent":
            continue
        fingerprint = (result.get("partialFingerprints") or {}).get(FINGERPRINT_KEY)
        case = (result.get("properties") or {}).get("case")
        if not fingerprint or not case:
            raise BaselineError(
                f"the baseline {path} has a result without an {FINGERPRINT_KEY} fingerprint and case "
                "(written by another tool or an older evaluator?) — write a new one with evaluator gate --sarif",
                settings=("baseline",),
            )
        properties = result["properties"]
        title = str(properties.get("title") or (result.get("message") or {}).get("text", ""))
        rule, severity = str(result.get("ruleId", "")), str(properties.get("severity", ""))
        baseline.add(BaselineFinding(case, fingerprint, rule, severity, title))
    return baseline


def _list(value: Any, key: str) -> list[dict[str, Any]]:
    items = value.get(key, []) if isinstance(value, dict) else None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        message = f"the baseline is not a SARIF log: {key!r} is not a list of objects"
        raise BaselineError(message, settings=("baseline",))
    return items
