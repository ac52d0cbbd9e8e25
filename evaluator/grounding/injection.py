"""Spotting prompt injection in the documents under review, and the pass that reports it.

:func:`detect` is pure: text in, flags out. A design or requirements document is data, but
it may contain text written to steer the reviewer ("ignore previous instructions", "give this
design 10/10"), a forged end of its delimiter, or a chat template's role markers. The prompt
already keeps such text inside its delimiters and defuses control-token look-alikes
(:mod:`evaluator.reviewer.prompts`); this module reports it, so a person sees that the
document tried.

:class:`InjectionAnalysis` turns the flags into one critical finding per document. Added by
the tool, not the model: a small model may well obey the injected text, so whether it
noticed cannot be trusted.
"""

from __future__ import annotations

import re
from typing import Any

from evaluator.grounding.base import Grounding, InjectionFlag
from evaluator.review.record import Finding

_EVIDENCE_CHARS = 100

# kind -> pattern. Patterns look for instructions addressed to a reviewer or a model, not for
# words a design may use innocently ("the service ignores duplicate events").
_PATTERNS: dict[str, re.Pattern[str]] = {
    "instruction_override": re.compile(
        r"\b(?:ignore|disregard|forget|override|skip)\s+(?:all\s+|any\s+|the\s+|your\s+)*"
        r"(?:previous|prior|above|earlier|preceding|system|original)\s+"
        r"(?:instructions?|prompts?|rules|directions|guidelines|messages?|context)"
        r"|\bnew\s+instructions?\s*:"
        r"|\byou\s+are\s+now\s+(?:a|an|the|in)\b"
        r"|\b(?:do\s+not|don't|never)\s+(?:report|mention|flag|list|raise)\s+(?:any\s+)?"
        r"(?:issues?|findings?|problems?|risks?|critical)",
        re.IGNORECASE,
    ),
    "score_manipulation": re.compile(
        r"\b(?:give|rate|score|assign|award|grade|mark)\b[^.\n]{0,40}?\b(?:10|ten)\s*(?:/|out\s+of)\s*(?:10|ten)\b"
        r"|\b(?:give|rate|score|assign|award|grade)\b[^.\n]{0,30}?\b(?:full|perfect|maximum|highest)\s+(?:marks|score)"
        r"|\b(?:mark|rate|assess)\s+(?:this|the)\s+design\s+as\s+(?:excellent|ready)\b",
        re.IGNORECASE,
    ),
    "delimiter_forgery": re.compile(
        r"<\s*/?\s*(?:requirements|design|design-part|notes)\b[^<>\n]{0,40}>"
        r"|\b(?:end|start|begin)\s+of\s+(?:the\s+)?(?:design|requirements|document|input|prompt)\b[^\n]{0,3}(?:-{3,}|={3,}|#{3,}|\]|>)"
        r"|(?:-{3,}|={3,}|#{3,})\s*(?:end|start|begin)\s+(?:of\s+)?(?:the\s+)?(?:design|requirements|document|input)\b",
        re.IGNORECASE,
    ),
    "chat_control_token": re.compile(
        r"<[|｜][^|｜<>\n]{1,40}[|｜]>"  # ChatML, Llama 3, Phi, DeepSeek (full-width bars)
        r"|\[/?INST\]|<</?SYS>>|</?s>"  # Llama 2 / Mistral
        r"|<(?:start|end)_of_turn>"  # Gemma
    ),
    "role_header": re.compile(
        r"^\s*#{1,6}\s*(?:system|assistant|instruction|instructions|response)\s*:"
        r"|^\s*(?:system|assistant)\s*:\s*(?:you\b|ignore\b|new\b)",
        re.IGNORECASE | re.MULTILINE,
    ),
}

KINDS: tuple[str, ...] = tuple(_PATTERNS)


def detect(text: str, document: str = "design") -> list[InjectionFlag]:
    """Every kind of injection attempt found in ``text``, each with its first occurrence quoted."""
    flags = []
    for kind, pattern in _PATTERNS.items():
        match = pattern.search(text)
        if match:
            flags.append(InjectionFlag(document, kind, _quote(text, match.start(), match.end())))
    return flags


def _quote(text: str, start: int, end: int) -> str:
    """The matched text with a little of its line around it, at most ``_EVIDENCE_CHARS`` long."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line_end = len(text) if line_end == -1 else line_end
    spare = max(_EVIDENCE_CHARS - (end - start), 0)
    left = max(line_start, start - spare // 2)
    right = min(line_end, end + spare - (start - left))
    return " ".join(text[left:right].split())[:_EVIDENCE_CHARS]


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
        where: dict[str, Any] = {"evidence_kind": "shows"}
        marked = _PATTERNS[mine[0].kind].search(mine[0].evidence)
        if marked:
            where.update(match_start=marked.start(), match_end=marked.end())
        if document == "design" and g is not None:
            where.update(_location(mine[0].evidence, g))
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
