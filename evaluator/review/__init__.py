"""The review as a record: what is stored, rendered and read back (:mod:`.record`), the rubric
that computes its scores and verdicts (:mod:`.rubric`), and its markdown (:mod:`.render`)."""

from evaluator.review.record import (
    ASSESSMENTS,
    READINESS,
    SEVERITIES,
    ChecklistEntry,
    Finding,
    Processing,
    RequirementCoverage,
    Review,
    SectionFeedback,
    Usage,
)

__all__ = [
    "ASSESSMENTS",
    "READINESS",
    "SEVERITIES",
    "ChecklistEntry",
    "Finding",
    "Processing",
    "RequirementCoverage",
    "Review",
    "SectionFeedback",
    "Usage",
]
