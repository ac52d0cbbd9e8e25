"""What the deterministic rules read, and how a rule marks what it found.

A rule (:mod:`evaluator.grounding.detectors`, :mod:`evaluator.grounding.code_rules`) reads a
:class:`Subject` and returns hits (:class:`~evaluator.documents.passages.Hit`). Only passages that
decide count (:mod:`evaluator.documents.roles`): a log line quoted under *Current state* is today's
problem, not the design's.
"""

from __future__ import annotations

from dataclasses import dataclass

from evaluator.documents.passages import Hit, Passage
from evaluator.documents.roles import DECIDING
from evaluator.grounding.code import CodeFacts


@dataclass(frozen=True)
class Subject:
    """What a rule reads: the design's passages (with their roles), its code facts, the requirements
    document's text and ``focus``: the text of the requirement that demands the check ("" when none),
    for rules that look only at what that requirement names."""

    passages: list[Passage]
    facts: CodeFacts
    requirements: str
    focus: str = ""

    def deciding(self) -> list[Passage]:
        """The passages that state the design's own choices."""
        return [p for p in self.passages if p.role in DECIDING]

    def at(self, line: int, words: str = "") -> Hit | None:
        """The deciding passage that holds ``line`` of the design — the one with ``words`` when the
        line holds several sentences — with ``words`` marked in it; None outside deciding sections."""
        here = [p for p in self.passages if p.line_start <= line <= p.line_end and p.kind != "heading"]
        if not here:
            return None
        hits = [mark(p, words) for p in here]
        best = next((h for h in hits if h.end > h.start), hits[0])
        return best if best.passage.role in DECIDING else None


def mark(passage: Passage, words: str) -> Hit:
    """A hit on ``passage`` with the first occurrence of ``words`` marked (whole passage when absent)."""
    text = passage.plain
    plain = " ".join(words.replace("`", "").replace("**", "").split())
    start = text.lower().find(plain.lower()) if plain else -1
    return Hit(passage, start, start + len(plain)) if start >= 0 else Hit(passage)


def unique(hits: list[Hit]) -> list[Hit]:
    """The hits, one per passage (the first)."""
    seen: set[str] = set()
    return [h for h in hits if not (h.passage.id in seen or seen.add(h.passage.id))]  # type: ignore[func-returns-value]
