"""Spotting prompt injection in the documents under review.

Pure: text in, flags out. A design or requirements document is data, but it may contain text
written to steer the reviewer ("ignore previous instructions", "give this design 10/10"), a
forged end of its delimiter, or a chat template's role markers. The prompt already keeps such
text inside its delimiters and defuses control-token look-alikes (:mod:`evaluator.prompts`);
this module reports it, so a person sees that the document tried — the reviewer adds the flags
to the review as a critical finding, whatever the model made of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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


@dataclass(frozen=True)
class InjectionFlag:
    """One suspicious passage: which document, what kind of attempt, and a short quote."""

    document: str  # "design" or "requirements"
    kind: str  # one of KINDS
    evidence: str

    @property
    def label(self) -> str:
        """The value stored in ``reviews.injection_flags``, e.g. ``design:instruction_override``."""
        return f"{self.document}:{self.kind}"


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
