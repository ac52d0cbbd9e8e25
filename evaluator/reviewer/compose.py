"""Turning the analyses' results (and a model's prose, where it earns its place) into a review.

Every part is realised from one reconciled set of facts — requirements with their statuses,
check results with the words they matched, and the findings — as whole sentences a reviewer
would write: what the design does well and where, what is missing and which requirement asks
for it, what decides against a requirement and the words that show it. The words come from the
check data (``passed``, ``missing``, ``problem``, ``advice``: :class:`~evaluator.grounding.profiles.Check`),
so the realisation is deterministic and testable: no pasted questions, no label lists, no
"(line 1)" for a document's title.

A model's prose is used where it is grounded — it names a requirement id, a section heading, an
identifier or a run of words of this design — and dropped where it is generic; which parts a
model wrote is recorded with the review.
"""

from __future__ import annotations

import re
from typing import Any

from evaluator.documents.passages import Hit, Passage
from evaluator.documents.roles import DECIDING
from evaluator.documents.terms import content_stems, negated_before
from evaluator.grounding.base import CheckResult, Grounding
from evaluator.grounding.profiles import Check, ChecklistItem, Profile
from evaluator.review.record import (
    SEVERITIES,
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
_STATES = ("sentence", "item", "code")  # passages that state what the design does (not a table row or heading)
_HEADINGS = {"critical": "Critical Issues", "recommendation": "Recommendations", "suggestion": "Suggestions"}
_NUMBERS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
# A summary describes; words that praise, fault or prescribe are a judgement a small model cannot make.
_JUDGES = re.compile(
    r"\b(?:good|well|excellent|great|robust|comprehensive|solid|strong|weak|poor|lacks?|lacking|missing|should|"
    r"must|needs? to|issues?|problems?|risks?|flaws?|secure|scalable|efficient|best|ensures?|guarantees?)\b",
    re.IGNORECASE,
)
_SUMMARY_WORDS = 120  # of the design's opening prose shown to a small model
_SUMMARY_OUTLINE = 12  # headings of the design shown with it
_SUMMARY_NEW_WORDS = 4  # content words a summary must add to the design's title
_SUMMARY_FAITHFUL = 0.85  # share of a summary's content words the design itself uses
# A whole sentence ("orders.created.v1" does not end one); one cut off at the length limit is left out.
_COMPLETE_SENTENCE = re.compile(r"(?:[^.!?]|[.!?](?!\s|$))+[.!?](?=\s|$)")


def excerpt(passage: Passage, chars: int = _EXCERPT) -> str:
    """The passage's text on one line, cut at a word boundary."""
    return clip(passage.plain, chars)


def where(passage: Passage) -> str:
    """``“3.4 Notification delivery”, lines 97–98`` (just the lines for text before any heading)."""
    return f"“{passage.heading}”, {passage.lines}" if passage.heading else passage.lines


def where_inline(passage: Passage) -> str:
    """``“3.4 Notification delivery” (lines 97–98)``, to stand inside a sentence."""
    return f"“{passage.heading}” ({passage.lines})" if passage.heading else passage.lines


def quoted(hit: Hit, chars: int = 90) -> str:
    """What a hit shows, as a short quote: the matched words with a little context, or the passage."""
    text = hit.passage.plain
    if hit.end <= hit.start:
        return f"“{clip(text, chars)}”"
    spare = max(0, chars - (hit.end - hit.start)) // 2
    lo = max(0, hit.start - spare)
    lo = text.rfind(" ", 0, lo) + 1 if lo else 0
    hi = min(len(text), hit.end + spare)
    hi = hi if hi == len(text) or text.find(" ", hi) == -1 else text.find(" ", hi)
    return f"“{'…' if lo else ''}{text[lo:hi].strip()}{'…' if hi < len(text) else ''}”"


def count(n: int, noun: str) -> str:
    """``2, "requirement"`` -> ``two requirements``."""
    word = _NUMBERS[n] if n < len(_NUMBERS) else str(n)
    return f"{word} {noun}{'' if n == 1 else 's'}"


def sentence(text: str) -> str:
    """``text`` with a capital first letter and a full stop (unless it already ends a sentence)."""
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    if text[-1] in ".!?" or (text[-1] in '”’"' and text[-2:-1] in (".", "!", "?")):
        return text
    return text + "."


_SENTENCE_END = re.compile(r"(?<!\be\.g)(?<!\bi\.e)(?<!\betc)(?<!\bvs)[.!?](?=\s+[A-Z(“\"]|\s*$)")


def first_sentence(text: str) -> str:
    """The first sentence of a piece of advice or a problem statement ("e.g." does not end one)."""
    text = text.strip()
    match = _SENTENCE_END.search(text)
    return text[: match.end()] if match else text


def lower_first(text: str) -> str:
    """``"Commit offsets …"`` -> ``"commit offsets …"`` (an acronym or identifier keeps its case)."""
    return text[:1].lower() + text[1:] if text[1:2].islower() else text


class Composer:
    """Builds a review's parts for one grounded case."""

    def __init__(self, profile: Profile, g: Grounding) -> None:
        self.profile = profile
        self.g = g
        self._headings = [
            _bare(p.text).lower()
            for p in g.passages
            if p.kind == "heading" and (len(_bare(p.text)) >= 8 or len(_bare(p.text).split()) >= 2)
        ]
        self._ids = {r.id for r in g.requirements}
        self._words = " ".join(re.findall(r"[a-z0-9]+", g.design.text.lower()))
        self._identifiers = {t.lower() for t in re.findall(r"`([^`\n]{4,40})`", g.design.text)}
        self._design_stems = set(content_stems(g.design.text))
        self._checks = {c.id: c for c in profile.checks}
        self.model_parts: list[str] = []  # the parts where the model's text was kept, in review order

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
        if any(re.search(rf"(?<!\w){re.escape(h)}(?!\w)", low) for h in self._headings):
            return True  # names a section of the design
        if any(i in low for i in self._identifiers):
            return True
        words = re.findall(r"[a-z0-9]+", low)
        runs = (" ".join(words[i : i + _RUN]) for i in range(len(words) - _RUN + 1))
        return any(f" {run} " in f" {self._words} " for run in runs)

    def _keep(self, items: list[str], part: str) -> list[str]:
        kept = [sentence(i) for i in items if isinstance(i, str) and self.grounded(i)]
        if kept:
            self._wrote(part)
        return kept

    def _wrote(self, part: str) -> None:
        if part not in self.model_parts:
            self.model_parts.append(part)

    # --- the prompt ------------------------------------------------------------------------------

    def prompt(self, passages: int) -> dict[str, Any]:
        """Template context of the prose pass, with at most ``passages`` passages."""
        cited: list[Passage] = []
        for result in self._results("passed", "failed"):
            cited += [h.passage for h in result.evidence[:1] if h.passage not in cited]
        for finding in self.g.findings:
            cited += [p for p in self._passages(finding.passage_ids[:1]) if p not in cited]
        outline = "\n".join(f"- {p.text}" for p in self.g.passages if p.kind == "heading")
        notes = self._notes_summary()
        shown = sorted(cited[:passages], key=lambda p: p.line_start)
        return {
            "profile": self.profile,
            "design_title": self.g.design.title,
            "outline": outline or "- (no headings)",
            "coverage": self._coverage_summary(),
            "notes": notes or "- the analyses found no problem",
            "passages": "\n".join(f"[{p.id}] {where(p)}: {excerpt(p, 240)}" for p in shown),
        }

    def summary_prompt(self) -> dict[str, Any]:
        """Template context of a small model's pass: the design's title and its opening prose passages
        (about :data:`_SUMMARY_WORDS` words of sentences and list items, no headings, tables or code)."""
        shown: list[Passage] = []
        for p in self.g.passages:
            if p.kind in ("sentence", "item") and p.role in ("design", "context", "goals"):
                shown.append(p)
                if sum(len(q.plain.split()) for q in shown) >= _SUMMARY_WORDS:
                    break
        headings = [p.text for p in self.g.passages if p.kind == "heading" and p.text != self.g.design.title]
        return {
            "design_title": self.g.design.title,
            "outline": "\n".join(f"- {h}" for h in headings[:_SUMMARY_OUTLINE]) or "- (no headings)",
            "passages": "\n".join(excerpt(p, 240) for p in shown) or "(no prose)",
        }

    def summary(self, text: str) -> str:
        """A small model's summary: its first two complete sentences, each kept when it names this
        design's parts, judges nothing and uses the design's own words (at least
        :data:`_SUMMARY_FAITHFUL` of its content words), and together say more than the title ("" otherwise).
        The opening of the Business Requirements section."""
        kept = []
        for candidate in _COMPLETE_SENTENCE.findall(one_line(text))[:2]:
            said = content_stems(candidate)
            faithful = sum(s in self._design_stems for s in said) >= _SUMMARY_FAITHFUL * len(said)
            if faithful and self.grounded(candidate) and not _JUDGES.search(candidate):
                kept.append(candidate.strip())  # "… through chatbots": words the design never uses
        beyond_title = set(content_stems(" ".join(kept))) - set(content_stems(self.g.design.title))
        if len(beyond_title) < _SUMMARY_NEW_WORDS:
            return ""  # nothing, or the title again ("MediSlot — Appointment Booking Service Design.")
        self._wrote("summary")
        return " ".join(kept)

    def _coverage_summary(self) -> str:
        """Coverage for the prompt within a fixed budget: counts, then the ids not met (any spec size)."""
        statuses = [c.status for c in self.g.coverage]
        if not statuses:
            return "- no requirement statements were found"
        counts = ", ".join(f"{statuses.count(s)} {s.replace('_', ' ')}" for s in dict.fromkeys(statuses))
        gaps = [c.requirement.id for c in self.g.coverage if c.status in ("not_addressed", "contradicted")]
        more = f" (and {len(gaps) - 20} more)" if len(gaps) > 20 else ""
        return f"- {len(statuses)} requirements: {counts}" + (
            f"\n- not met: {', '.join(gaps[:20])}{more}" if gaps else ""
        )

    def _notes_summary(self, limit: int = 20) -> str:
        """The analyses' findings for the prompt within a fixed budget: counts by severity, then at most
        ``limit`` of them, the most severe first (a spec of 2,000 unmet requirements is 2,000 findings)."""
        findings = self.g.findings
        if len(findings) > limit:  # a stable sort: the analyses' order within a severity
            findings = sorted(findings, key=lambda f: SEVERITIES.index(f.severity))[:limit]
        lines = [f"- [{f.severity}] {f.title} ({f.lines or 'nothing to quote'})" for f in findings]
        if len(self.g.findings) > limit:
            counts = ", ".join(f"{sum(f.severity == s for f in self.g.findings)} {s}" for s in SEVERITIES)
            lines.insert(0, f"- {len(self.g.findings)} findings ({counts}); the {limit} most severe:")
        return "\n".join(lines)

    def _passages(self, ids: list[str]) -> list[Passage]:
        return [p for p in (self.g.passage(i) for i in ids) if p is not None]

    def _results(self, *statuses: str) -> list[CheckResult]:
        return [r for r in self.g.checks if r.status in statuses]

    # --- findings --------------------------------------------------------------------------------

    def findings(self, drafts: list[dict[str, Any]]) -> list[Finding]:
        """The analyses' findings plus the model's own, minus those already raised.

        A model finding is a duplicate when 60 % of the content words of the shorter title are
        in the other's (the model names no requirement or check id to compare).
        """
        found = list(self.g.findings)
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

    # --- strengths -------------------------------------------------------------------------------

    def strengths(self, model: list[str]) -> list[str]:
        """Grounded model strengths, then what passed checks, the coverage and the design's own
        weighing of alternatives and risks show — each with where the design shows it."""
        own = [f"{sentence(r.check.passed).rstrip('.')} ({where(r.evidence[0].passage)})." for r in self._passes()]
        covered = [c for c in self.g.coverage if c.status == "covered" and c.evidence]
        if covered:
            c = covered[0]
            own.append(
                f"The design takes up {count(len(covered), 'requirement')} of {len(self.g.coverage)} in the "
                f"sections that decide, for example {c.requirement.id} in {where(c.evidence[0])}."
            )
        own += self._own_weighing()
        return _unique(self._keep(model, "strengths")[:2] + own)[:5]

    def _passes(self) -> list[CheckResult]:
        """Checks the rules passed on a deciding passage, most important first, one per passage."""
        passed = [
            r
            for r in self._results("passed")
            if r.decided_by == "rule" and r.evidence and r.check.passed and r.evidence[0].passage.kind in _STATES
        ]
        passed.sort(key=lambda r: ("critical", "recommendation", "suggestion").index(r.check.severity))
        seen: set[str] = set()
        return [r for r in passed if not (r.evidence[0].passage.id in seen or seen.add(r.evidence[0].passage.id))]  # type: ignore[func-returns-value]

    def _own_weighing(self) -> list[str]:
        """Strengths of a rigorous design: alternatives it weighs, risks it names with mitigations."""
        found = []
        for role, text in (
            ("alternatives", "It weighs alternatives explicitly"),
            ("risks", "It names its own risks"),
        ):
            heading = next((p for p in self.g.passages if p.kind == "heading" and p.role == role), None)
            if heading is not None and any(p.role == role and p.kind != "heading" for p in self.g.passages):
                found.append(f"{text} in “{heading.text}” (line {heading.line_start}).")
        return found

    # --- sections --------------------------------------------------------------------------------

    def sections(self, model: dict[str, str], findings: list[Finding], summary: str = "") -> list[SectionFeedback]:
        """One entry per profile section: grounded model prose, then what the checks of that area
        found, in sentences that agree with the findings and the checklist; the Business
        Requirements section opens with the ``summary`` of what the design builds, if any."""
        result = []
        for section in self.profile.sections:
            business = section.key == "business_requirements"
            facts = self._business() if business else self._facts(section.key, findings)
            prose = model.get(section.key, "") if isinstance(model, dict) else ""
            parts = ([summary] if business and summary else []) + self._keep([prose], "section_reviews") + facts
            if not parts:
                parts = [f"The review raises nothing about {_lower_title(section.title)}: none of its checks for "
                         "this area applies to this design or found a problem."]  # fmt: skip
            result.append(SectionFeedback(key=section.key, title=section.title, feedback=" ".join(parts)))
        return result

    def _business(self) -> list[str]:
        by = {s: [c.requirement.id for c in self.g.coverage if c.status == s]
              for s in ("covered", "partial", "not_addressed", "contradicted")}  # fmt: skip
        total = len(self.g.coverage)
        if not total:
            return ["The requirements document states no binding requirement the review could trace, so "
                    "completeness is not assessed."]  # fmt: skip
        text = f"The design takes up {len(by['covered'])} of {count(total, 'requirement')} in the sections that decide"
        text += f", and {len(by['partial'])} more in part." if by["partial"] else "."
        parts = [text]
        if by["not_addressed"]:
            parts.append(f"No deciding section takes up {_ids(by['not_addressed'])}.")
        if by["contradicted"]:
            parts.append(f"The design goes against {_ids(by['contradicted'])}; see the findings.")
        return parts

    def _facts(self, key: str, findings: list[Finding]) -> list[str]:
        raised: dict[str, Finding] = {}
        for f in findings:  # most severe first: a suggestion is a fact of its section too
            if f.check_id:
                raised.setdefault(f.check_id, f)
        facts = []
        for r in self.g.checks:
            if r.status == "not_applicable" or self.profile.check_section(r.check) != key:
                continue
            finding = raised.get(r.check.id)
            if r.status == "passed" and r.decided_by == "rule" and r.evidence and r.check.passed:
                facts.append(f"{sentence(r.check.passed).rstrip('.')} ({where(r.evidence[0].passage)}).")
            elif finding is not None and finding.evidence_kind == "shows" and r.evidence:
                hit = r.evidence[0]
                facts.append(f"{sentence(r.check.title).rstrip('.')}: the design says {quoted(hit)} "
                             f"({where(hit.passage)}), one of the {_HEADINGS[finding.severity]}.")  # fmt: skip
            elif finding is not None and finding.evidence_kind == "absent":
                asks = f", which {finding.requirement_id} asks for" if finding.requirement_id else ""
                facts.append(f"The design does not describe {self._missing(r.check)}{asks}.")
        return _unique(facts)

    def _missing(self, check: Check) -> str:
        return check.missing or lower_first(check.question.rstrip("?"))

    # --- the other parts -------------------------------------------------------------------------

    def missing_elements(self, findings: list[Finding]) -> list[str]:
        """What the design lacks that a requirement asks for: blocking absences and untraced requirements."""
        missing = []
        for f in findings:
            if f.severity not in _BLOCKING or f.evidence_kind != "absent":
                continue
            check = self._checks.get(f.check_id or "")
            if check is not None:
                missing.append(f"The design does not describe {self._missing(check)} ({f.requirement_id}).")
            elif f.requirement_id:
                missing.append(f"No deciding section takes up {f.requirement_id}: “{clip(f.requirement_text, 110)}”")
        return [sentence(m) for m in _unique(missing)][:8]

    def alternatives(self, model: list[str]) -> list[str]:
        """Grounded model alternatives; the design's own weighing; the advice of failed blocking checks."""
        own = []
        for r in self._results("failed"):
            if r.evidence and r.check.advice and r.requirement is not None:
                own.append(f"Instead of what {where_inline(r.evidence[0].passage)} describes, "
                           f"{lower_first(first_sentence(r.check.advice))}")  # fmt: skip
        considered = next((p for p in self.g.passages if p.kind == "heading" and p.role == "alternatives"), None)
        if considered is not None and not own:
            own.append(f"The design already weighs the alternatives in “{considered.text}” (line "
                       f"{considered.line_start}); none of the findings calls for another approach.")  # fmt: skip
        kept = _unique(self._keep(model, "alternative_approaches") + [sentence(o) for o in own])[:3]
        return kept or ["None of the findings calls for a different approach."]

    def risk(self, model: str, findings: list[Finding]) -> str:
        """The model's risk paragraph when grounded, then the blocking findings and the design's own risks."""
        critical = [f for f in findings if f.severity == "critical"]
        recommended = [f for f in findings if f.severity == "recommendation"]
        if critical or recommended:
            parts = []
            if critical:
                parts.append(count(len(critical), "critical issue"))
            if recommended:
                parts.append(count(len(recommended), "recommendation"))
            worst = (critical or recommended)[0]
            own = (f"The review found {' and '.join(parts)} to settle before implementation. The most serious: "
                   f"{lower_first(worst.title.rstrip('.'))}.")  # fmt: skip
        else:
            own = "The review found nothing that blocks implementation."
        risks = next((p for p in self.g.passages if p.kind == "heading" and p.role == "risks"), None)
        if risks is not None:
            own += f" The design's own risk section, “{risks.text}” (line {risks.line_start}), lists what it accepts."
        return " ".join([*self._keep([model], "risk_assessment"), own])

    def next_steps(self, model: list[str], findings: list[Finding]) -> list[str]:
        """One step per blocking finding (most severe first), then grounded model steps."""
        own = []
        for f in findings:
            if f.severity not in _BLOCKING:
                continue
            check = self._checks.get(f.check_id or "")
            step = first_sentence(check.advice) if check is not None and check.advice else ""
            if not step and f.requirement_id:
                step = f"Show in the design how it meets {f.requirement_id}."
            if step:
                about = f.requirement_id or (f"“{f.section}”" if f.section else "")
                cited = about and about not in step
                own.append(f"{step.rstrip('.')} ({about})." if cited else sentence(step))
        steps = _unique(own[:5] + self._keep(model, "next_steps"))[:6]
        return steps or ["No finding blocks implementation: confirm the design with its owners and start building."]

    def checklist(self, findings: list[Finding]) -> list[ChecklistEntry]:
        """Each item ticked when the design shows it and no blocking finding maps to it."""
        failed = {
            key
            for f in findings
            if f.severity in _BLOCKING and f.check_id in self._checks
            for key in [self.profile.check_checklist(self._checks[f.check_id or ""])]
            if key
        }
        return [ChecklistEntry(key=c.key, text=c.text, checked=c.key not in failed and self._shows(c))
                for c in self.profile.checklist]  # fmt: skip

    def _shows(self, item: ChecklistItem) -> bool:
        if item.coverage is not None:
            statuses = [c.status for c in self.g.coverage if c.requirement.mandatory]
            ratio = coverage_ratio(statuses)
            return ratio is not None and ratio >= item.coverage and "contradicted" not in statuses
        if any(self.profile.check_checklist(r.check) == item.key for r in self._passes()):
            return True
        if not item.evidence:
            return True
        for p in self.g.passages:
            if p.role not in DECIDING:
                continue
            for pattern in item.evidence:
                m = re.search(pattern, p.plain, re.IGNORECASE)
                if m and not negated_before(p.plain, m.start()):
                    return True
        return False

    def coverage(self) -> list[RequirementCoverage]:
        """The coverage rows of the review (reconciled with the checks)."""
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


def _lower_title(title: str) -> str:
    """``"Data Model"`` -> ``"data model"``, ``"API Design"`` -> ``"API design"``: a title inside a sentence."""
    return " ".join(w if w.isupper() else w.lower() for w in title.split())


def _ids(ids: list[str]) -> str:
    shown = ids[:8]
    text = ", ".join(shown[:-1]) + f" and {shown[-1]}" if len(shown) > 1 else shown[0]
    return text + (f" (and {len(ids) - 8} more)" if len(ids) > 8 else "")


def _bare(heading: str) -> str:
    """A heading without its numbering: ``3.4 Notification delivery`` -> ``Notification delivery``."""
    return re.sub(r"^[\d.]+\s*", "", heading).strip()


def _unique(items: list[str]) -> list[str]:
    seen: set[str] = set()
    return [i for i in items if not (one_line(i).lower() in seen or seen.add(one_line(i).lower()))]  # type: ignore[func-returns-value]
