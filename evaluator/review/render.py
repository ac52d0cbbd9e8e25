"""Review -> markdown, in the reviewer's output format, to the letter.

Headings, summary labels, allowed values and the checklist lines are a format other tools
depend on. Text written by the model is flattened or escaped so it can never add a heading
or break a list.
"""

from __future__ import annotations

import re
from typing import Protocol

from evaluator.review.record import Finding, Review, Severity
from evaluator.version import __version__

_GAP = "\n\n\n"
_NONE = "- None identified."
SEVERITY_HEADINGS: dict[Severity, str] = {
    "critical": "Critical Issues (Must Fix)",
    "recommendation": "Recommendations (Should Fix)",
    "suggestion": "Suggestions (Could Fix)",
}


class SourceLines(Protocol):
    """Where lines of a converted document's markdown are in its source file (see evaluator.documents.sources)."""

    def describe(self, start: int, end: int | None = None) -> str | None:
        """'tech-design.rst, lines 40–42' for markdown lines ``start``-``end``, or None when unknown."""
        ...


def render_markdown(
    review: Review, *, design: SourceLines | None = None, requirements: SourceLines | None = None
) -> str:
    """The review as markdown, followed by an HTML comment saying how it was produced.

    ``design``/``requirements``: for converted documents, where evidence and requirement lines are in
    the source files; they are then given beside the markdown lines ("design, lines 12–14;
    tech-design.rst, lines 40–42")."""
    blocks = [
        f"# Technical Design Review: {inline(heading_title(review.title))}",
        "## Review Summary\n" + _summary(review),
        "## Strengths\n" + _bullets(review.strengths),
        *(
            f"## {heading}\n" + _findings(review.findings_of(sev), design, requirements)
            for sev, heading in SEVERITY_HEADINGS.items()
        ),
        "## Section-by-Section Review",
        *(f"### {s.title}\n{block(s.feedback)}" for s in review.sections),
        "## Missing Elements\n" + _bullets(review.missing_elements),
        "## Alternative Approaches\n" + _bullets(review.alternative_approaches),
        "## Risk Assessment Review\n" + block(review.risk_assessment or "Not assessed."),
        "## Implementation Readiness Checklist\n" + _checklist(review),
        "## Recommended Next Steps\n" + _numbered(review.next_steps),
    ]
    return _GAP.join(blocks) + "\n\n" + _footer(review) + "\n"


# A design's own title often says what it is: "Technical Design: Loans" must not become
# "Technical Design Review: Technical Design: Loans". A separator is required, so that
# "Design-time checks" keeps its first word.
_DESIGN_PREFIX = re.compile(
    r"(?i)^\s*(tech(nical)?\s+)?design(\s+(document|doc|spec(ification)?))?(\s+review)?(\s*:\s*|\s+[-–—]\s+)"
)


def heading_title(title: str) -> str:
    """The title after the review heading's prefix: a leading 'Technical Design:' (or 'Design Review -') dropped."""
    return _DESIGN_PREFIX.sub("", title, count=1).strip() or title


def score(value: float | None) -> str:
    """``7`` -> ``7/10``, ``7.5`` -> ``7.5/10``."""
    if value is None:
        return "n/a"
    return f"{value:g}/10"


_BLOCK_START = re.compile(r"^(\s*)(#|```|~~~|=+\s*$|-+\s*$)")


def _defuse_comments(text: str) -> str:
    # An unclosed "<!--" from the model would hide the rest of the review.
    return text.replace("<!--", "<\\!--")


def inline(text: str) -> str:
    """One line of model text: whitespace collapsed, cannot start a heading or open a comment."""
    line = _defuse_comments(re.sub(r"\s+", " ", text).strip())
    return re.sub(r"^#", r"\\#", line)


def block(text: str) -> str:
    """Paragraphs of model text that cannot open a heading, a setext underline, a fence or a comment."""
    lines = [_BLOCK_START.sub(r"\1\\\2", line) for line in _defuse_comments(text).strip().splitlines()]
    return "\n".join(lines) or "No feedback."


def _summary(review: Review) -> str:
    return "\n".join(
        [
            f"- **Overall Assessment**: {review.overall_assessment or 'n/a'}",
            f"- **Completeness Score**: {_completeness(review)}",
            f"- **Technical Soundness Score**: {score(review.technical_soundness_score)}",
            f"- **Implementation Readiness**: {review.implementation_readiness or 'n/a'}",
        ]
    )


NOT_ASSESSED = "not assessed (the requirements state nothing binding to trace)"


def _completeness(review: Review) -> str:
    """The completeness score, or — for a generated review with nothing to trace — that it was not assessed."""
    grounded = review.processing is not None and review.processing.mode == "grounded"
    return NOT_ASSESSED if review.completeness_score is None and grounded else score(review.completeness_score)


def _bullets(items: list[str]) -> str:
    return "\n".join(f"- {inline(item)}" for item in items) or _NONE


def _numbered(items: list[str]) -> str:
    return "\n".join(f"{i}. {inline(item)}" for i, item in enumerate(items, 1)) or _NONE


def _findings(findings: list[Finding], design: SourceLines | None, requirements: SourceLines | None) -> str:
    return "\n".join(_finding(f, design, requirements) for f in findings) or _NONE


def _also(source: SourceLines | None, start: int | None, end: int | None = None) -> str:
    """'; tech-design.rst, lines 40–42' where a converted document's source lines are known, else ''."""
    where = source.describe(start, end) if source is not None and start else None
    return f"; {where}" if where else ""


def _finding(f: Finding, design: SourceLines | None = None, requirements: SourceLines | None = None) -> str:
    """A finding: title and detail, then what it concerns, the requirement it rests on (quoted,
    with its line), and either the evidence with the matched words in bold or, for something
    absent, what the design was searched for."""
    detail = inline(f.detail)
    lines = [f"- **{inline(f.title)}**: {detail}" if detail else f"- **{inline(f.title)}**"]
    if f.section.strip():
        lines.append(f"  - Section: {inline(f.section)}")
    concerns = ", ".join(x for x in (f.requirement_id, f.check_id and f"check {f.check_id}") if x)
    if concerns:
        lines.append(f"  - Concerns: {inline(concerns)}")
    if f.requirement_text.strip():
        also = _also(requirements, f.requirement_line)
        at = f" (requirements, line {f.requirement_line}{also})" if f.requirement_line else ""
        lines.append(f"  - Requirement: “{inline(f.requirement_text)}”{at}")
    if f.evidence.strip():
        if f.lines:
            where = f" (design, {f.lines}{_also(design, f.line_start, f.line_end)})"
        else:
            where = {True: " (found in the design)", False: " (not found in the design)", None: ""}[f.evidence_found]
        lines.append(f'  - Evidence: "{inline(_marked(f))}"{where}')
    elif f.evidence_kind == "absent" and f.searched_for:
        lines.append(f"  - Searched for: {inline(', '.join(f.searched_for))} (not found in the design)")
    return "\n".join(lines)


def _marked(f: Finding) -> str:
    """The evidence with the words the rule matched in bold."""
    if f.match_start is None or f.match_end is None or not 0 <= f.match_start < f.match_end <= len(f.evidence):
        return f.evidence
    words = f.evidence[f.match_start : f.match_end].replace("*", "")
    return f"{f.evidence[: f.match_start]}**{words.strip()}**{f.evidence[f.match_end :]}"


def _checklist(review: Review) -> str:
    return "\n".join(f"- [{'x' if c.checked else ' '}] {c.text}" for c in review.checklist) or _NONE


def _footer(review: Review) -> str:
    how = review.processing.describe() if review.processing else "unknown"
    model = review.model or "unknown"
    text = f"Generated by evaluator {__version__} · model: {model} · profile: {review.profile} · {how}"
    if review.design_source:
        text += f" · evidence quotes and line numbers refer to the markdown converted from {review.design_source}"
    return f"<!-- {text.replace('--', '- -')} -->"
