"""The traceability matrix of one case, without a model: each requirement's status and its design links.

The status is the review's own (:mod:`.coverage`, the profile's rule checks, :mod:`.reconcile`),
so ``evaluator trace`` and ``evaluator review`` never disagree; the links are the sections the
linker (:mod:`.tracing`) links the requirement to. A requirement that the review counts as
addressed but whose best sections do not stand out keeps its nearest sections as links (marked
``standing_out=False``), so a covered requirement never shows an empty row.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from evaluator.documents.read import Document
from evaluator.documents.requirements import Requirement
from evaluator.grounding.base import Analysis, Grounding, run_analyses
from evaluator.grounding.checks import CheckAnalysis
from evaluator.grounding.coverage import CoverageAnalysis
from evaluator.grounding.profiles import DEFAULT_PROFILE, load_profile
from evaluator.grounding.reconcile import reconcile
from evaluator.grounding.tracing import Embedder, Link, design_linker
from evaluator.review.record import CoverageStatus

SUGGESTED = "suggested"  # every exported link: for a person to accept in the requirements tool


@dataclass(frozen=True)
class TraceRow:
    """One requirement: its status in the review, its links (best first) and whether they stand out."""

    requirement: Requirement
    status: CoverageStatus
    links: tuple[Link, ...]
    standing_out: bool = True


@dataclass(frozen=True)
class TraceMatrix:
    """Every requirement of a case against its design."""

    requirements: Document
    design: Document
    rows: list[TraceRow]


def trace_case(
    requirements: Document, design: Document, *, profile: str = DEFAULT_PROFILE, embedder: Embedder | None = None
) -> TraceMatrix:
    """The matrix of one case (see the module docstring); raises ProfileError for an unknown profile."""
    chosen = load_profile(profile)
    g = Grounding.of(requirements, design)
    if embedder is not None:
        g.__dict__["linker"] = design_linker(g.requirements, g.passages, embedder, fallback=g.nearest)
    analyses: list[Analysis] = [CoverageAnalysis(), CheckAnalysis(chosen.checks, chosen.technologies)]
    g = reconcile(run_analyses(g, analyses))
    status = {c.requirement.id: c.status for c in g.coverage}
    rows = []
    for requirement in g.requirements:
        links = g.linker.links(requirement)
        state = status.get(requirement.id, "not_addressed")
        if links or state == "not_addressed":
            rows.append(TraceRow(requirement, state, tuple(links)))
        else:
            rows.append(TraceRow(requirement, state, tuple(g.linker.links(requirement, standing_out=False)), False))
    return TraceMatrix(requirements, design, rows)


def design_elements(matrix: TraceMatrix) -> list[tuple[Link, list[str]]]:
    """Each linked design section once (its best-scoring link), with the requirement ids it addresses."""
    found: dict[str, tuple[Link, list[str]]] = {}
    for row in matrix.rows:
        for link in row.links:
            best, ids = found.get(link.section, (link, []))
            found[link.section] = (link if link.score > best.score else best, [*ids, row.requirement.id])
    return list(found.values())


def element_id(section: str) -> str:
    """A stable id for a design section: ``DESIGN_`` and 10 hex digits of its path's SHA-256."""
    return "DESIGN_" + hashlib.sha256(section.encode("utf-8")).hexdigest()[:10].upper()


def reqif_identifier(row: TraceRow) -> str:
    """The ReqIF IDENTIFIER of a requirement: its own when imported from ReqIF, else one made from its id."""
    match = re.search(r"SPEC-OBJECT (\S+)$", row.requirement.source)
    if match:
        return match.group(1)
    return "evaluator-requirement-" + re.sub(r"[^A-Za-z0-9_.-]", "_", row.requirement.id)
