"""Turning the analyses' results and the model's prose into the parts of a review.

Every list and section of the review is built from the analyses (requirements, checks and
the passages they cite), so each entry names something of this design. The model's prose
is used where it is grounded too — it names a requirement id, a section heading, an
identifier or a run of words of this design — and dropped where it is generic.
"""

from __future__ import annotations

import re
from typing import Any

from evaluator.documents.passages import Passage
from evaluator.documents.terms import content_stems, negated_before
from evaluator.grounding.base import CheckResult, Grounding
from evaluator.grounding.profiles import ChecklistItem, Profile
from evaluator.review.record import (
    ChecklistEntry,
    EvidencePassage,
    Finding,
    RequirementCoverage,
    SectionFeedback,
)
from evaluator.review.rubric import coverage_ratio
from evaluator.text import clip, one_line, quote_found

_EXCERPT = 110
_RUN = 5  # words in a row that make a sentence about this design
_MIN_WORDS = 6
_ID_LIKE = re.compile(r"\b[A-Z][A-Z0-9]{0,7}[-_]\d+(?:\.\d+)*\b")
_BLOCKING = ("critical", "recommendation")


def excerpt(passage: Passage, chars: int = _EXCERPT) -> str:
    """The passage's text on one line, cut at a word boundary."""
    return clip(one_line(passage.text.replace("`", "").replace("**", "")), chars)


def where(passage: Passage) -> str:
    """``“3.4 Notification delivery”, lines 97–98``."""
    return f"“{passage.heading}”, {passage.lines}" if passage.heading else passage.lines


class Composer:
    """Builds a review's parts for one grounded case."""

    def __init__(self, profile: Profile, g: Grounding) -> None:
        self.profile = profile
        self.g = g
        self._headings = [_bare(p.text).lower() for p in g.passages if p.kind == "heading" and len(_bare(p.text)) >= 4]
        self._ids = {r.id for r in g.requirements}
        self._words = " ".join(re.findall(r"[a-z0-9]+", g.design.text.lower()))
        self._identifiers = {t.lower() for t in re.findall(r"`([^`\n]{4,40})`", g.design.text)}

    # --- grounding of model text ---------------------------------------------------------------

    def grounded(self, text: str) -> bool:
        """Whether ``text`` says something about this design: at least six words, no invented
        requirement id, and it names a requirement id, a section, an identifier or a run of
        five words of the design."""
        if len(text.split()) < _MIN_WORDS:
            return False  # "4 Data": a heading alone says nothing
        if any(i not in self._ids for i in _ID_LIKE.findall(text)):
            return False  # "SIS-3: …": an id the requirements do not have
        low = text.lower()
        if any(re.search(rf"(?<![\w-]){re.escape(i)}(?![\w-])", text) for i in self._ids):
            return True
        if any(h in low for h in self._headings) or any(i in low for i in self._identifiers):
            return True
        words = re.findall(r"[a-z0-9]+", low)
        runs = (" ".join(words[i : i + _RUN]) for i in range(len(words) - _RUN + 1))
        return any(f" {run} " in f" {self._words} " for run in runs)

    def _keep(self, items: list[str]) -> list[str]:
        return [i for i in items if isinstance(i, str) and self.grounded(i)]

    # --- the prompt ------------------------------------------------------------------------------

    def prompt(self, passages: int) -> dict[str, Any]:
        """Template context of the prose pass, with at most ``passages`` passages."""
        cited: list[Passage] = []
        for result in self._results("passed", "failed"):
            cited += [p for p in result.evidence[:1] if p not in cited]
        for finding in self.g.findings:
            cited += [p for p in self._passages(finding.passage_ids[:1]) if p not in cited]
        outline = "\n".join(f"- {p.text}" for p in self.g.passages if p.kind == "heading")
        coverage = "\n".join(f"- {c.requirement.id}: {c.status.replace('_', ' ')}" for c in self.g.coverage)
        notes = "\n".join(f"- [{f.severity}] {f.title} ({f.lines or 'whole design'})" for f in self.g.findings)
        shown = sorted(cited[:passages], key=lambda p: p.line_start)
        return {
            "profile": self.profile,
            "design_title": self.g.design.title,
            "outline": outline or "- (no headings)",
            "coverage": coverage or "- no requirement statements were found",
            "notes": notes or "- the analyses found no problem",
            "passages": "\n".join(f"[{p.id}] {where(p)}: {excerpt(p, 240)}" for p in shown),
        }

    def _passages(self, ids: list[str]) -> list[Passage]:
        return [p for p in (self.g.passage(i) for i in ids) if p is not None]

    def _results(self, *statuses: str) -> list[CheckResult]:
        return [r for r in self.g.checks if r.status in statuses]

    # --- review parts ----------------------------------------------------------------------------

    def findings(self, drafts: list[dict[str, Any]]) -> list[Finding]:
        """The analyses' findings plus the model's own, minus those already raised.

        A coverage finding is dropped when a failed check about the same requirement says it
        better (its requirement text matches the check's ``applies_when``). A model finding is
        a duplicate when 60 % of the content words of the shorter title are in the other's
        (the model names no requirement or check id to compare).
        """
        found = self._merged()
        seen = [set(content_stems(f.title)) for f in found]
        for d in drafts:
            stems = set(content_stems(d.get("title", "")))
            if not stems or any(len(stems & s) / min(len(stems), len(s)) >= 0.6 for s in seen if s):
                continue
            evidence = d.get("evidence", "")
            found.append(
                Finding(
                    **{k: d.get(k, "") for k in ("severity", "title", "detail", "section", "evidence")},
                    source="model",
                    evidence_found=quote_found(evidence, self.g.design.text) if evidence.strip() else None,
                )
            )
            seen.append(stems)
        return found

    def _merged(self) -> list[Finding]:
        checks = {c.id: c for c in self.profile.checks}
        texts = {r.id: r.text for r in self.g.requirements}
        failed = [checks[f.check_id] for f in self.g.findings if f.check_id in checks and f.severity != "suggestion"]

        def said_by_a_check(f: Finding) -> bool:
            text = texts.get(f.requirement_id or "", "")
            return f.source == "coverage" and any(
                re.search(p, text, re.IGNORECASE) for c in failed for p in c.applies_when.requirements
            )

        return [f for f in self.g.findings if not said_by_a_check(f)]

    def strengths(self, model: list[str]) -> list[str]:
        """Grounded model strengths, then what passed checks and the coverage show."""
        own = []
        covered = [c for c in self.g.coverage if c.status == "covered" and c.evidence]
        if covered:
            c = covered[0]
            own.append(
                f"Traces {len(covered)} of {len(self.g.coverage)} requirements to design passages, "
                f"e.g. {c.requirement.id} in {where(c.evidence[0])}"
            )
        for result in self._results("passed"):
            if result.decided_by == "rule" and result.evidence:
                p = result.evidence[0]
                own.append(f"{result.check.area}: “{excerpt(p, 90)}” ({where(p)})")
        return _unique(self._keep(model)[:2] + own)[:5]

    def sections(self, model: dict[str, str]) -> list[SectionFeedback]:
        """One feedback entry per profile section: facts from the analyses, plus grounded model prose."""
        result = []
        for section in self.profile.sections:
            facts = self._business() if section.key == "business_requirements" else self._section_facts(section.key)
            prose = model.get(section.key, "") if isinstance(model, dict) else ""
            parts = ([prose.strip()] if prose and self.grounded(prose) else []) + facts
            if not any(self.grounded(p) or re.search(r"\blines? \d", p) for p in parts):
                parts.append(self._nearest(section.asks))  # every entry points into this design
            result.append(SectionFeedback(key=section.key, title=section.title, feedback=" ".join(parts)))
        return result

    def _business(self) -> list[str]:
        counts = {s: [c.requirement.id for c in self.g.coverage if c.status == s] for s in
                  ("covered", "partial", "not_addressed", "contradicted")}  # fmt: skip
        total = len(self.g.coverage)
        if not total:
            return ["No requirement statements were found in the requirements document to trace."]
        parts = [f"{len(counts['covered'])} of {total} requirements are traced to the design"]
        for status, label in (("partial", "partly addressed"), ("not_addressed", "not addressed"),
                              ("contradicted", "contradicted")):  # fmt: skip
            if counts[status]:
                parts.append(f"{label}: {', '.join(counts[status][:8])}{'…' if len(counts[status]) > 8 else ''}")
        return ["; ".join(parts) + "."]

    def _section_facts(self, key: str) -> list[str]:
        facts = []
        for r in self.g.checks:
            if r.status == "not_applicable" or self.profile.check_section(r.check) != key:
                continue
            p = r.evidence[0] if r.evidence else None
            at = f" ({where(p)})" if p else ""
            if r.status == "failed":
                facts.append(f"Must fix: {r.check.title}{at}.")
            elif r.status == "absent":
                facts.append(f"Not shown in the design: {r.check.question}")
            else:
                facts.append(f"Addressed ({r.check.id.replace('-', ' ')}): {where(p) if p else 'the design'}.")
        return _unique(facts)

    def _nearest(self, asks: str) -> str:
        hits = self.g.retriever.search(content_stems(asks), 1)
        if not hits:
            headings = [p.text for p in self.g.passages if p.kind == "heading"][1:6]
            return f"None of the design's sections ({'; '.join(headings) or 'it has none'}) covers this topic."
        p = hits[0][0]
        return f"The design's nearest passage on this is {where(p)}: “{excerpt(p)}”."

    def missing_elements(self) -> list[str]:
        """Requirements not addressed and checks the design is silent on."""
        missing = [f"{c.requirement.id}: {clip(c.requirement.text, 120)}" for c in self.g.coverage
                   if c.status == "not_addressed" and c.requirement.mandatory]  # fmt: skip
        missing += [r.check.title for r in self._results("absent") if r.check.absent != "none"]
        return missing[:8]

    def alternatives(self, model: list[str]) -> list[str]:
        """Grounded model alternatives, else the advice of the failed checks."""
        own = [f"Instead of what {where(r.evidence[0])} describes: {r.check.advice}" for r in self._results("failed")
               if r.evidence and r.check.advice]  # fmt: skip
        return _unique(self._keep(model) + own)[:3]

    def risk(self, model: str, findings: list[Finding]) -> str:
        """The model's risk paragraph when grounded, else a summary of the blocking findings."""
        blocking = [f for f in findings if f.severity in _BLOCKING]
        own = (
            f"{len(blocking)} finding{'s' if len(blocking) != 1 else ''} must or should be fixed before building: "
            + "; ".join(f"{f.title} ({f.lines or 'whole design'})" for f in blocking[:4])
            + "."
            if blocking
            else "The analyses found no unmitigated risk that blocks implementation."
        )
        return f"{model.strip()} {own}" if model and self.grounded(model) else own

    def next_steps(self, model: list[str], findings: list[Finding]) -> list[str]:
        """One step per blocking finding (most severe first), then grounded model steps."""
        advice = {r.check.id: r.check.advice for r in self.g.checks}
        own = [f"{f.title} — {advice.get(f.check_id or '', '') or 'revise the design'} ({f.lines or 'whole design'})"
               for f in findings if f.severity in _BLOCKING]  # fmt: skip
        return _unique(own[:5] + self._keep(model))[:6] or ["Confirm the design with its owners and start building."]

    def checklist(self, findings: list[Finding]) -> list[ChecklistEntry]:
        """Each checklist item ticked when the design shows it and no blocking finding maps to it."""
        failed = {
            key
            for f in findings
            if f.severity in _BLOCKING and f.check_id
            for key in [self.profile.check_checklist(next(c for c in self.profile.checks if c.id == f.check_id))]
            if key
        }
        return [ChecklistEntry(key=c.key, text=c.text, checked=c.key not in failed and self._shows(c))
                for c in self.profile.checklist]  # fmt: skip

    def _shows(self, item: ChecklistItem) -> bool:
        if item.coverage is not None:
            statuses = [c.status for c in self.g.coverage if c.requirement.mandatory]
            return coverage_ratio(statuses) >= item.coverage and "contradicted" not in statuses
        if not item.evidence:
            return True
        for p in self.g.passages:
            for pattern in item.evidence:
                m = re.search(pattern, p.text, re.IGNORECASE)
                if m and not negated_before(p.text, m.start()):
                    return True
        return False

    def coverage(self) -> list[RequirementCoverage]:
        """The coverage rows of the review."""
        return [
            RequirementCoverage(
                requirement_id=c.requirement.id,
                text=c.requirement.text,
                mandatory=c.requirement.mandatory,
                status=c.status,
                score=c.score,
                evidence=[
                    EvidencePassage(passage_id=p.id, line_start=p.line_start, line_end=p.line_end, text=excerpt(p, 300))
                    for p in c.evidence
                ],
            )
            for c in self.g.coverage
        ]


def _bare(heading: str) -> str:
    """A heading without its numbering: ``3.4 Notification delivery`` -> ``Notification delivery``."""
    return re.sub(r"^[\d.]+\s*", "", heading).strip()


def _unique(items: list[str]) -> list[str]:
    seen: set[str] = set()
    return [i for i in items if not (i.lower() in seen or seen.add(i.lower()))]  # type: ignore[func-returns-value]
