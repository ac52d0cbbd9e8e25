"""Headings of a review: what kind of part each one opens, and the title line.

Pure: a heading's text in, its normalised form and kind out, for :mod:`evaluator.ingest.parse`.
"""

from __future__ import annotations

import functools
import re

from evaluator.ingest.lines import strip_numbering

# Normalised heading -> kind. Kinds are Review field names, or a severity for the findings.
ALIASES = {
    alias: kind
    for kind, aliases in {
        "summary": "review summary|summary|executive summary|overall summary|assessment summary|assessment|"
        "scores|review scores|score summary|scorecard|verdict|review verdict",
        "strengths": "strengths|key strengths",
        "critical": "critical issues",
        "recommendation": "recommendations",
        "suggestion": "suggestions",
        "sections": "section by section review|section by section|section by section analysis|"
        "section by section feedback|section feedback|section review|detailed section review|per section review",
        "missing_elements": "missing elements",
        "alternative_approaches": "alternative approaches",
        "risk_assessment": "risk assessment review|risk assessment",
        "checklist": "implementation readiness checklist|readiness checklist|checklist|implementation checklist|"
        "review checklist|design review checklist",
        "next_steps": "recommended next steps|next steps",
        # Findings graded on another scale: severity headings, severity tables, a severity word per item.
        "findings": "findings|key findings|review findings|detailed findings|issues|issues found|identified issues|"
        "findings and recommendations|issues and recommendations|concerns|observations|gaps and issues",
        # Where a reviewer states the verdict in words ("Approve with changes"): the implementation readiness.
        "verdict": "recommendation|final recommendation|overall recommendation|decision|final decision|"
        "conclusion|conclusions|outcome|review outcome|final verdict|approval|approval status",
    }.items()
    for alias in aliases.split("|")
}
MAIN = {*ALIASES.values(), "severity", "verdict"}
# Headings a design document does not have; two of them make a review.
REVIEW_ONLY = {
    "strengths", "critical", "recommendation", "suggestion", "sections", "missing_elements", "checklist", "findings",
    "severity",
}  # fmt: skip

# "Technical Design Review: X", "Design Review — X", "Architecture Review: X", "Review: X".
TITLE = re.compile(
    r"(?i)^[*_]{0,2}(?:(?:technical\s+)?(?:design|architecture|architectural)\s+)?review[*_]{0,2}\s*[:\-–—]\s*"
    r"[*_]{0,2}(?P<title>.*)$"
)
# A revised heading ("Updated Review Summary — v2", "Final Scores") is read as the heading it revises.
_REVISED = re.compile(
    r"^(?:(?:revised|updated|final|new|initial|original|previous|earlier|first|second|latest|amended|corrected|"
    r"re review|post revision)\s+)+"
)
_VERSION = re.compile(r"(?:\s+(?:v\d+(?: \d+)*|version \d+(?: \d+)*|revision \d+|rev \d+|round \d+|r\d+|draft))+$")
TRAILING_SYMBOLS = re.compile(r"[\s:\u2190-\u2bff\ufe0f\U0001f000-\U0001faff]+$")  # 'Glossary ✅' -> 'Glossary'


@functools.lru_cache(maxsize=4096)  # the profile's items and the usual headings come back in every review
def norm_heading(text: str) -> str:
    """A heading or item reduced for matching: case, '&', punctuation, emoji, numbering."""
    text = re.sub(r"\([^)]*\)", " ", strip_numbering(text).lower().replace("&", " and "))
    text = re.sub(r"[^a-z0-9]+", " ", text).strip()
    text = re.sub(r"^(?:\d+ )+", "", text)
    return re.sub(r" (?:must|should|could) fix$", "", text)


def unrevised(norm: str) -> str:
    """A normalised heading without revision words and versions: 'updated review summary v2' -> 'review summary'."""
    return _VERSION.sub("", _REVISED.sub("", norm)).strip()


def clean_title(text: str) -> str:
    """A heading as a finding or section title: leading emoji, symbols and numbering removed."""
    text = re.sub(r"^[^\w(\[\"'`§]+", "", text.strip())
    return strip_numbering(re.sub(r"^\d+(?:\.\d+)*[.)]?\s+", "", text)).strip()
