"""The injection pass: text in either document aimed at the reviewer becomes a critical finding.

Added by the tool, not the model: a small model may well obey the injected text, so whether
it noticed cannot be trusted. The detector itself is :mod:`evaluator.injection`.
"""

from __future__ import annotations

from typing import Any

from evaluator.analyses.base import Grounding
from evaluator.injection import InjectionFlag, detect
from evaluator.review import Finding


class InjectionAnalysis:
    """Adds one critical finding per document that tries to instruct the reviewer."""

    source = "injection"

    def run(self, g: Grounding) -> None:
        """Detect in both documents; record the flags and add the findings."""
        g.injection_flags = detect(g.requirements_doc.text, "requirements") + detect(g.design.text, "design")
        g.findings.extend(injection_findings(g.injection_flags, g))


def injection_findings(flags: list[InjectionFlag], g: Grounding | None = None) -> list[Finding]:
    """One critical finding per document with flags, citing the first flagged passage."""
    found = []
    for document in ("design", "requirements"):
        mine = [f for f in flags if f.document == document]
        if not mine:
            continue
        kinds = ", ".join(f.kind.replace("_", " ") for f in mine)
        quotes = "; ".join(f"“{f.evidence}”" for f in mine)
        where: dict[str, Any] = {}
        if document == "design" and g is not None:
            where = _location(mine[0].evidence, g)
        found.append(
            Finding(
                severity="critical",
                title=f"Possible prompt injection in the {document}",
                detail=f"The {document} contains text aimed at the reviewer ({kinds}): {quotes}. "
                "Remove it and check the scores of this review by hand.",
                evidence=mine[0].evidence,
                evidence_found=True if document == "design" else None,  # the render says "found in the design"
                source="injection",
                **where,
            )
        )
    return found


def _location(quote: str, g: Grounding) -> dict[str, Any]:
    needle = " ".join(quote.split())[:40]
    for p in g.passages:
        if needle and needle in " ".join(p.text.split()):
            return {"section": p.heading, "line_start": p.line_start, "line_end": p.line_end, "passage_ids": [p.id]}
    return {}
