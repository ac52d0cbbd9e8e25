"""One story per requirement: traceability and checks agree before anything is written.

The analyses see a requirement from two sides: coverage (do the design's words take it up?)
and the checks it demands (does the design do what it asks, or decide against it?). A reader
must not find "FR-7 is not addressed" beside a check that shows FR-7 met at the versioned
``/v1/…`` paths, so the checks, which are more specific, settle it:

* a blocking check that failed on a requirement makes it ``contradicted``, with that check's
  evidence, and the check's finding speaks for it (a coverage finding on it is dropped);
* a check that passed on a requirement makes it ``covered``, with that check's evidence, and
  removes a "not addressed" finding on it;
* otherwise the coverage stands.

Everything downstream — the coverage table, the checklist, the summary, the scores — reads the
reconciled result, so the parts of a review cannot disagree.
"""

from __future__ import annotations

from dataclasses import replace

from evaluator.grounding.base import CheckResult, Coverage, Grounding

_BLOCKING = ("critical", "recommendation")


def reconcile(g: Grounding) -> Grounding:
    """Settle each requirement's status from its checks and drop the findings that would contradict it."""
    blocking = {f.check_id for f in g.findings if f.source in ("check", "model") and f.severity in _BLOCKING}
    by_requirement: dict[str, list[CheckResult]] = {}
    for result in g.checks:
        if result.requirement is not None and result.status in ("passed", "failed"):
            by_requirement.setdefault(result.requirement.id, []).append(result)
    settled: dict[str, str] = {}
    coverage: list[Coverage] = []
    for c in g.coverage:
        results = by_requirement.get(c.requirement.id, [])
        failed = [r for r in results if r.status == "failed" and r.check.id in blocking and r.evidence]
        passed = [r for r in results if r.status == "passed" and r.evidence]
        if failed:
            hits = failed[0].evidence
            c = replace(c, status="contradicted", evidence=tuple(h.passage for h in hits), shows=hits[0])
            settled[c.requirement.id] = "check"
        elif passed and c.status != "contradicted":
            c = replace(c, status="covered", evidence=tuple(h.passage for h in passed[0].evidence), shows=None)
            settled[c.requirement.id] = "check"
        coverage.append(c)
    g.coverage = coverage
    g.findings = [f for f in g.findings if not (f.source == "coverage" and f.requirement_id in settled)]
    return g
