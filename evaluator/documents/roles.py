"""What each section of a document is for: does it decide, or does it describe?

A design document mixes statements of different force. "The exporter exposes the metrics
endpoint without authentication" is a decision under *Proposal* and a description of today's
problem under *Motivation*; "we use Kafka" decides under *Design* and does nothing under
*Alternatives considered*. A reviewer reads each sentence in the role of its section; so do
the analyses. Roles:

* ``design`` — proposal, design, decision, implementation, interfaces, data model, test plan…:
  what the authors commit to (the default);
* ``context`` — background, motivation, problem statement, current state, introduction, prior art:
  how things are, not what the design chooses;
* ``goals`` — goals, requirements, user stories, use cases, scope: what is wanted, restated;
* ``alternatives`` — alternatives considered, rejected ideas, options: what was *not* chosen;
* ``risks`` — risks and mitigations, drawbacks, open questions, consequences, future work;
* ``meta`` — table of contents, revision history, references, glossary, conventions, approvals.

Roles come from headings, matched as whole phrases ("Background", "Background and motivation",
"Current state of billing") so that a heading such as "Background workers" stays a design
section; a section without a role heading inherits its parent's. The document's structure
settles the one ambiguous word: in arc42, "Context and Scope" describes the system's own
boundary (design), elsewhere "Context" is background. Within
a deciding section, a sentence that opens with "Today," / "Currently," / "In the current system"
describes the present, not the design.

Phrases come from the templates of the common document types: Kubernetes KEPs, Rust and IETF
RFCs, Python PEPs, OpenStack specs, ADRs (Nygard; MADR), arc42, Google-style design docs and
IEEE 1016 software design descriptions.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

SectionRole = Literal["design", "context", "goals", "alternatives", "risks", "meta"]
DocumentKind = Literal["kep", "rfc", "pep", "adr", "arc42", "openstack", "plain"]

# Roles whose statements are the design's own choices, and those whose statements can show a
# design meets a concern (a mitigation under "Risks and mitigations" does).
DECIDING: frozenset[str] = frozenset({"design"})
ADDRESSING: frozenset[str] = frozenset({"design", "risks"})

_PHRASES: dict[SectionRole, tuple[str, ...]] = {
    "meta": (
        "table of contents",
        "contents",
        "toc",
        "document control",
        "document history",
        "document information",
        "revision history",
        "revisions",
        "version history",
        "change log",
        "changelog",
        "history",
        "implementation history",
        "authors",
        "author",
        "approvals",
        "approval",
        "approvers",
        "reviewers",
        "sign off",
        "signoff",
        "status",
        "metadata",
        "references",
        "bibliography",
        "footnotes",
        "copyright",
        "license",
        "licence",
        "glossary",
        "definitions",
        "acronyms",
        "abbreviations",
        "terminology",
        "conventions",
        "notational conventions",
        "requirements language",
        "release signoff checklist",
        "infrastructure needed",
        "distribution",
        "related documents",
        "links",
        "definitions acronyms and abbreviations",
    ),
    "alternatives": (
        "alternatives",
        "alternative",
        "alternatives considered",
        "alternative approaches",
        "alternative designs",
        "alternative solutions",
        "considered alternatives",
        "considered options",
        "options considered",
        "options",
        "rejected ideas",
        "rejected options",
        "rejected alternatives",
        "rejected approaches",
        "other options",
        "other approaches",
        "pros and cons of the options",
        "rationale and alternatives",
        "design alternatives",
        "why not",
        "comparison of options",
    ),
    "risks": (
        "risks",
        "risk",
        "risks and mitigations",
        "risks and technical debt",
        "risk assessment",
        "drawbacks",
        "downsides",
        "open questions",
        "open issues",
        "open points",
        "unresolved questions",
        "unresolved issues",
        "future work",
        "future possibilities",
        "future improvements",
        "future extensions",
        "consequences",
        "technical debt",
        "known risks",
    ),
    "goals": (
        "goals",
        "goal",
        "non goals",
        "nongoals",
        "goals and non goals",
        "objectives",
        "requirements",
        "functional requirements",
        "non functional requirements",
        "nonfunctional requirements",
        "quality requirements",
        "quality goals",
        "user stories",
        "user story",
        "stories",
        "use cases",
        "use case",
        "acceptance criteria",
        "scope",
        "in scope",
        "out of scope",
        "scope and non scope",
        "success criteria",
        "success metrics",
        "decision drivers",
        "constraints",
        "architecture constraints",
        "introduction and goals",
        "requirements overview",
        "stakeholders",
    ),
    "context": (
        "background",
        "context",
        "motivation",
        "problem",
        "problem statement",
        "problem description",
        "the problem",
        "current state",
        "current situation",
        "current system",
        "current architecture",
        "current behaviour",
        "current behavior",
        "current design",
        "current implementation",
        "as is",
        "status quo",
        "existing system",
        "existing solution",
        "existing architecture",
        "existing behaviour",
        "existing behavior",
        "today",
        "introduction",
        "purpose",
        "prior art",
        "context and problem statement",
        "background and motivation",
        "motivation and background",
        "context and scope",
        "overview of the problem",
        "assumptions",
    ),
}
# A phrase may be followed by a qualifier: "Current state of billing", "Alternatives to Kafka".
_QUALIFIER = r"(?:\s+(?:of|for|on|to|in|around|about|with)\b.*|\s*[:(–—-].*)?"
_JOIN = r"\s*(?:and|&|/|,)\s*"
_ROLE_OF: dict[str, SectionRole] = {phrase: role for role, phrases in _PHRASES.items() for phrase in phrases}
_ANY = "|".join(sorted((re.escape(p) for p in _ROLE_OF), key=len, reverse=True))
# A phrase may also be preceded by a plain qualifier: "General motivation", "Business context".
_PREFIX = (
    r"(?:(?:general|overall|business|technical|project|product|high level|brief|short|key|main|additional|"
    r"further|detailed|more)\s+)?"
)
_HEADING = re.compile(rf"^{_PREFIX}({_ANY})(?:{_JOIN}{_PREFIX}({_ANY}))*{_QUALIFIER}$")
_NUMBERING = re.compile(
    r"^(?:(?:appendix|annex|chapter|section|part)\s+[a-z0-9]+[.:)]?\s*|[0-9]+(?:\.[0-9]+)*[.)]?\s+|[ivxlc]+\.\s+|"
    r"[a-z]\.\s+)",
    re.IGNORECASE,
)
_KINDS: tuple[tuple[DocumentKind, tuple[str, ...], int], ...] = (
    # (kind, phrases that mark it, how many must be present)
    ("kep", ("design details", "production readiness review questionnaire", "graduation criteria",
             "version skew strategy", "release signoff checklist", "risks and mitigations"), 2),
    ("arc42", ("building block view", "runtime view", "deployment view", "solution strategy",
               "cross cutting concepts", "crosscutting concepts", "architecture decisions",
               "system scope and context"), 2),
    ("openstack", ("proposed change", "problem description", "data model impact", "rest api impact",
                   "security impact", "other deployer impact", "upgrade impact", "work items"), 3),
    ("rfc", ("guide level explanation", "reference level explanation", "rationale and alternatives",
             "unresolved questions", "prior art", "future possibilities"), 2),
    ("pep", ("abstract", "rationale", "specification", "backwards compatibility", "rejected ideas",
             "how to teach this", "reference implementation"), 3),
    ("adr", ("context", "decision", "consequences", "status", "decision outcome", "considered options",
             "decision drivers"), 3),
)  # fmt: skip
# Sentences about the present inside a deciding section: "Today, the exporter…", "Currently …".
_PRESENT = re.compile(
    r"^\W*(?:today|currently|at present|at the moment|presently|as of today|as things stand|right now|"
    r"historically|until now|so far|in the (?:current|existing|legacy|old) (?:system|setup|implementation|"
    r"design|architecture|version|process|platform)|the (?:current|existing|legacy|old) (?:system|setup|"
    r"implementation|service|exporter|process|platform|monolith|version)\b[^.]{0,80}\b(?:is|are|was|were|has|"
    r"does|do|exposes|stores|writes|sends|logs|uses|runs|keeps|lacks|relies|cannot|can't|doesn't|does not)|"
    # what the design replaces, and what that did: "Info: Replaces the legacy monolith, which stored amounts as floats"
    r"(?:[\w ]{1,20}:[*_\s]*)?(?:it |this \w+ )?(?:replaces|supersedes|retires|migrates? (?:away )?from)\b[^.]{0,100}"
    r"\b(?:legacy|old|previous|existing|current)\b[^.]{0,80}\b(?:which|that|where|whose))\b",
    re.IGNORECASE,
)


def bare_heading(heading: str) -> str:
    """A heading as a phrase: no numbering ("3.2", "Appendix B:", "IV."), emphasis, emoji or punctuation."""
    text = re.sub(r"[*_`#]|\[|\]\([^)]*\)|\]", "", heading).strip()
    text = _NUMBERING.sub("", text)
    text = re.sub(r"[^\w\s:()/&,–—-]", " ", text)
    text = re.sub(r"(?<=\w)-(?=\w)", " ", text)  # "Non-Goals" -> "non goals", "Cross-cutting" -> "cross cutting"
    return " ".join(text.lower().split())


def heading_role(heading: str, kind: DocumentKind = "plain") -> SectionRole | None:
    """The role a heading gives its section, or None when it names no role (the section inherits one)."""
    bare = bare_heading(heading)
    if kind == "arc42" and re.match(r"^(?:system |business |technical )?(?:scope and )?context\b", bare):
        return "design"  # arc42 §3 describes the system's own boundary and neighbours
    match = _HEADING.match(bare)
    if match is None:
        return None
    return _ROLE_OF[match.group(1)]


def document_kind(headings: Sequence[str]) -> DocumentKind:
    """Which template a document follows, from its headings (``plain`` when none fits)."""
    bare = {bare_heading(h) for h in headings}
    for kind, phrases, needed in _KINDS:
        if sum(any(b == p or b.startswith(p + " ") for b in bare) for p in phrases) >= needed:
            return kind
    return "plain"


def section_roles(paths: Sequence[tuple[str, ...]]) -> list[SectionRole]:
    """The role of each heading path (outermost heading first), in the given order: the innermost
    heading that names a role decides; otherwise ``design``. A document's title gives a role only
    when it is itself a role phrase ("Problem description" as the title of an extract)."""
    kind = document_kind([h for path in paths for h in path])
    cache: dict[str, SectionRole | None] = {}
    roles: list[SectionRole] = []
    for path in paths:
        role: SectionRole = "design"
        for heading in reversed(path):
            if heading not in cache:
                cache[heading] = heading_role(heading, kind)
            if cache[heading] is not None:
                role = cache[heading]  # type: ignore[assignment]
                break
        roles.append(role)
    return roles


_RUN_IN = re.compile(r"^\s*(?:\*\*|__)([^*_\n]{2,40}?)[.:]?(?:\*\*|__)\s*[.:—–-]?\s+\S")


def run_in_role(paragraph: str) -> SectionRole | None:
    """The role a paragraph's bold run-in label gives it ("**Context.** The app needs …" -> context),
    as ADRs and wiki pages label their parts without headings; None without such a label."""
    match = _RUN_IN.match(paragraph)
    return heading_role(match.group(1)) if match else None


def describes_present(sentence: str) -> bool:
    """Whether a sentence describes how things are today rather than what the design decides."""
    return bool(_PRESENT.match(sentence))
