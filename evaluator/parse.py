"""Markdown review -> :class:`Review`: reads reviews written by this tool, by people or by other tools.

Pure: text in, :class:`ParsedReview` out. The structure comes from a markdown parser
(markdown-it): headings split the document into a tree of parts, each part is recognised by
its normalised heading, and values are read only where the structure says they are (a score
from a "Completeness Score" line of the summary, never from a sentence that happens to
mention completeness). Regexes only ever look at the text of one heading, item or line.

Text fields keep their inline markdown as written, because a :class:`Review` is rendered
back to markdown as it is; headings used as titles or keys are read as plain text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.tree import SyntaxTreeNode

from evaluator.errors import DocumentError
from evaluator.profiles import ChecklistItem, Profile, ReviewSection
from evaluator.review import (
    ASSESSMENTS,
    READINESS,
    ChecklistEntry,
    Finding,
    Processing,
    Review,
    SectionFeedback,
    Severity,
)

_MD = MarkdownIt("commonmark").enable("table")
_LISTS = ("bullet_list", "ordered_list")

# Normalised heading -> kind. Kinds are Review field names, or a severity for the findings.
_ALIASES = {
    "review summary": "summary",
    "summary": "summary",
    "executive summary": "summary",
    "overall summary": "summary",
    "strengths": "strengths",
    "key strengths": "strengths",
    "critical issues": "critical",
    "recommendations": "recommendation",
    "suggestions": "suggestion",
    "section by section review": "sections",
    "section by section": "sections",
    "missing elements": "missing_elements",
    "alternative approaches": "alternative_approaches",
    "risk assessment review": "risk_assessment",
    "risk assessment": "risk_assessment",
    "implementation readiness checklist": "checklist",
    "readiness checklist": "checklist",
    "recommended next steps": "next_steps",
    "next steps": "next_steps",
}
_SEVERITIES: dict[str, Severity] = {
    "critical": "critical",
    "recommendation": "recommendation",
    "suggestion": "suggestion",
}
_LIST_KINDS = ("strengths", "missing_elements", "alternative_approaches", "next_steps")
_MAIN = {*_ALIASES.values()}
# Headings a design document does not have; two of them make a review.
_REVIEW_ONLY = {"strengths", "critical", "recommendation", "suggestion", "sections", "missing_elements", "checklist"}

_FIELD_LABELS = {
    "overall_assessment": r"overall(?:\s+(?:assessment|rating|verdict))?",
    "completeness_score": r"completeness(?:\s+score)?",
    "technical_soundness_score": r"(?:technical\s+)?soundness(?:\s+score)?",
    "implementation_readiness": r"(?:implementation\s+)?readiness(?!\s+checklist)",
}
_FIELD_RES = {
    name: re.compile(rf"^\W*(?:{label})\b(?P<rest>.*)$", re.I | re.S) for name, label in _FIELD_LABELS.items()
}
_SCORE = re.compile(r"(?<![\d.])(\d{1,2}(?:\.\d+)?)\s*(?:/|out\s+of)\s*10(?![\d.])", re.I)
_TITLE = re.compile(
    r"^(?:\*\*|__)?technical\s+design\s+review(?:\*\*|__)?\s*[:\-–—]\s*(?:\*\*|__)?\s*(?P<title>.*)$", re.I | re.S
)
_BOLD = re.compile(r"^[^\w*]*(\*\*|__)(?P<title>.+?)\1(?P<rest>.*)$", re.S)
_META = re.compile(
    r"^(?:\*\*|__)?(?P<label>section|evidence)(?:\*\*|__)?\s*:\s*(?:\*\*|__)?\s*(?P<value>.*)$", re.I | re.S
)
_EVIDENCE = re.compile(r"^(?P<quote>.*?)\s*(?P<where>\((?P<neg>not\s+)?found\s+in\s+the\s+design\))?\s*$", re.I | re.S)
_CHECK = re.compile(r"^\[\s*(?P<mark>[xX✓✔])?\s*\]\s*(?P<text>.+)$", re.S)
_NONE = re.compile(r"^[*_]*(?:none(?:\s+(?:identified|found))?|n/a)[.!]?[*_]*$", re.I)


@dataclass(frozen=True)
class ParsedReview:
    """A review read from markdown, with what was found and what was not understood."""

    review: Review
    found: list[str]
    extra_sections: dict[str, str]


@dataclass(eq=False)
class _Part:
    """A heading and what follows it up to the next heading; deeper headings are children."""

    level: int
    heading: SyntaxTreeNode | None
    blocks: list[SyntaxTreeNode] = field(default_factory=list)
    children: list[_Part] = field(default_factory=list)
    kind: str | None = None

    @property
    def plain(self) -> str:
        return _plain(self.heading).strip() if self.heading else ""

    @property
    def raw(self) -> str:
        return self.heading.children[0].content.strip() if self.heading and self.heading.children else ""


def looks_like_review(text: str) -> bool:
    """Whether ``text`` is a design review at all (not a design document, a README...)."""
    return _Reader(text, None).read().is_review()


def parse_review(text: str, profile: Profile) -> ParsedReview:
    """Read a markdown review into a :class:`Review` for ``profile``.

    Raises :class:`DocumentError` when the text is not a review. Fields the text does not
    have stay ``None`` or empty and are absent from ``found``.
    """
    reader = _Reader(text, profile).read()
    if not reader.is_review():
        raise DocumentError(
            "not a review: no 'Technical Design Review' title, summary scores or review sections "
            "(Strengths, Critical Issues, Section-by-Section Review...) were found"
        )
    return reader.result(profile)


# --- text helpers ----------------------------------------------------------------------


def _plain(node: SyntaxTreeNode) -> str:
    """The text of a node without inline markup."""
    if node.type in ("text", "code_inline"):
        return node.content
    if node.type in ("softbreak", "hardbreak"):
        return "\n"
    if node.type == "html_inline":
        return ""
    return "".join(_plain(child) for child in node.children)


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _norm(text: str) -> str:
    """A heading or item reduced for matching: case, '&', punctuation, emoji, numbering."""
    text = re.sub(r"\([^)]*\)", " ", text.lower().replace("&", " and "))
    text = re.sub(r"[^a-z0-9]+", " ", text).strip()
    text = re.sub(r"^(?:\d+ )+", "", text)
    return re.sub(r" (?:must|should|could) fix$", "", text)


def _clean_title(text: str) -> str:
    """A heading as a finding title: leading emoji, symbols and numbering removed."""
    text = re.sub(r"^[^\w(\[\"'`]+", "", text.strip())
    return re.sub(r"^\d+(?:\.\d+)*[.)]?\s+", "", text).strip()


def _first_sentence(text: str, limit: int = 90) -> str:
    text = _flat(text.replace("**", "").replace("__", "").replace("`", ""))
    match = re.match(r"(.+?[.!?])(?:\s|$)", text)
    sentence = (match.group(1) if match else text).rstrip(".")
    if len(sentence) <= limit:
        return sentence
    return (sentence[:limit].rsplit(" ", 1)[0] or sentence[:limit]).rstrip(" ,;:")


def _lines(nodes: list[SyntaxTreeNode]) -> list[str]:
    """The raw lines of every paragraph in ``nodes``, depth first (code and HTML left out)."""
    lines: list[str] = []
    for node in nodes:
        if node.type == "paragraph":
            lines += [line.strip() for line in node.children[0].content.splitlines() if line.strip()]
        elif node.type not in ("fence", "code_block", "html_block"):
            lines += _lines(node.children)
    return lines


def _texts(nodes: list[SyntaxTreeNode]) -> list[str]:
    """Plain-text lines of paragraphs and table rows (cells joined by ': '), depth first."""
    texts: list[str] = []
    for node in nodes:
        if node.type == "paragraph":
            texts += [line.strip() for line in _plain(node).splitlines() if line.strip()]
        elif node.type == "tr":
            texts.append(": ".join(_plain(cell).strip() for cell in node.children))
        elif node.type not in ("fence", "code_block", "html_block", "inline"):
            texts += _texts(node.children)
    return texts


def _is_comment(node: SyntaxTreeNode) -> bool:
    return node.type == "html_block" and node.content.lstrip().startswith("<!--")


def _is_none(items: list[str]) -> bool:
    return len(items) == 1 and bool(_NONE.match(items[0]))


# --- values ----------------------------------------------------------------------------


def _choice(text: str, options: tuple[str, ...]) -> str | None:
    """The allowed value ``text`` starts with (case-insensitive, whole words), else None."""
    text = _flat(re.sub(r"^\W+", "", text)).lower()
    for option in sorted(options, key=len, reverse=True):
        if re.match(re.escape(option.lower()) + r"\b", text):
            return option
    return None


def _score(text: str) -> float | None:
    match = _SCORE.search(text)
    value = float(match.group(1)) if match else None
    return value if value is not None and 0 <= value <= 10 else None


def _value(name: str, text: str) -> Any:
    if name == "overall_assessment":
        return _choice(text, ASSESSMENTS)
    if name == "implementation_readiness":
        return _choice(text, READINESS)
    return _score(text)


def _field(text: str) -> tuple[str, str] | None:
    """``(field, rest)`` when ``text`` starts with a summary label, e.g. 'Completeness Score: 7/10'."""
    for name, regex in _FIELD_RES.items():
        match = regex.match(text)
        if match:
            return name, re.sub(r"^[\s:*_=|\-–—]+", "", match.group("rest"))
    return None


# --- findings ----------------------------------------------------------------------------


def _split_title(line: str) -> tuple[str, str] | None:
    """``**Title**: detail`` (colon inside or outside the bold, or a dash) -> (title, detail)."""
    match = _BOLD.match(line)
    if not match:
        return None
    title, rest = match.group("title").strip(), match.group("rest")
    if rest.strip() and not title.endswith(":") and rest.lstrip()[:1] not in (":", "-", "–", "—"):
        return None
    if not rest.lstrip().startswith(":"):
        title = title.rstrip(":").rstrip()
    detail = re.sub(r"^\s*(?::|[-–—](?=\s|$))?\s*", "", rest, count=1)
    return re.sub(r"^\d+[.)]\s+", "", title), detail.strip()


def _evidence(value: str) -> tuple[str, bool | None]:
    """``"quote" (found in the design)`` -> (quote, True); no remark -> (quote, None)."""
    match = _EVIDENCE.match(value)
    assert match is not None  # every part of the pattern is optional
    quote = match.group("quote").strip()
    if len(quote) >= 2 and quote[0] in '"“' and quote[-1] in '"”':
        quote = quote[1:-1]
    return quote, None if match.group("where") is None else match.group("neg") is None


def _finding(severity: Severity, lines: list[str], title: str | None = None) -> Finding:
    """A finding from its lines; the first line gives the title unless ``title`` is given."""
    meta: dict[str, Any] = {}
    text: list[str] = []
    for i, line in enumerate(lines):
        match = _META.match(line) if i or title is not None else None
        if match and match.group("label").lower() == "section":
            meta["section"] = _flat(match.group("value"))
        elif match:
            meta["evidence"], meta["evidence_found"] = _evidence(match.group("value"))
        else:
            text.append(line)
    split = _split_title(text[0]) if title is None and text else None
    if split:
        title, text = split[0], [split[1], *text[1:]]
    elif title is None:
        title = _first_sentence(" ".join(text))
    return Finding(severity=severity, title=title, detail=_flat(" ".join(text)), **meta)


# --- the document tree ---------------------------------------------------------------------


def _tree(root: SyntaxTreeNode) -> _Part:
    """Headings nest by level; every other block belongs to the last heading before it."""
    top = _Part(level=0, heading=None)
    stack = [top]
    for node in root.children:
        if node.type != "heading":
            stack[-1].blocks.append(node)
            continue
        part = _Part(level=int(node.tag[1:]), heading=node)
        while stack[-1].level >= part.level:
            stack.pop()
        stack[-1].children.append(part)
        stack.append(part)
    return top


def _all(part: _Part) -> list[_Part]:
    return [part, *(p for child in part.children for p in _all(child))]


class _Reader:
    """Walks the part tree once and collects every value it recognises."""

    def __init__(self, text: str, profile: Profile | None) -> None:
        text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
        self.lines = text.split("\n")
        self.root = _tree(SyntaxTreeNode(_MD.parse(text)))
        self.sections: dict[str, ReviewSection] = {}
        self.items: list[ChecklistItem] = profile.checklist if profile else []
        for section in profile.sections if profile else []:
            self.sections[_norm(section.title)] = self.sections[_norm(section.key.replace("_", " "))] = section
        self.title: str | None = None
        self.title_part: _Part | None = None
        self.values: dict[str, tuple[int, Any]] = {}
        self.lists: dict[str, list[str]] = {}
        self.findings: list[Finding] = []
        self.feedback: dict[str, SectionFeedback] = {}
        self.checklist: dict[str, ChecklistEntry] = {}
        self.risk: list[str] = []
        self.extras: dict[str, str] = {}
        self.seen: set[str] = set()

    # classification -------------------------------------------------------------------

    def read(self) -> _Reader:
        """Classify every heading, then walk the tree."""
        parts = _all(self.root)[1:]
        for part in parts:
            part.kind = self._kind(part)
        self._find_title(parts)
        self._candidates(self.root.blocks, 1)
        self._walk(self.root)
        return self

    def _kind(self, part: _Part) -> str | None:
        norm = _norm(part.plain)
        if norm in _ALIASES:
            return _ALIASES[norm]
        if norm in self.sections:
            return "section"
        found = _field(part.plain)
        if found and (not re.search(r"\w", found[1]) or _value(*found) is not None):
            return "field"
        return None

    def _find_title(self, parts: list[_Part]) -> None:
        for part in parts:
            match = _TITLE.match(part.raw)
            if match:
                title = match.group("title")
                self.title = (title.rstrip("*_") if part.raw[:2] in ("**", "__") else title).strip() or None
                self.title_part = part
                return
        first = next((p for p in parts if p.level == 1 and p.kind is None), None)
        if first:
            self.title, self.title_part = first.plain or None, first

    def is_review(self) -> bool:
        """A review has its title, a summary value, or two headings no design document has."""
        prefixed = self.title_part is not None and bool(_TITLE.match(self.title_part.raw))
        return prefixed or bool(self.values) or len(self.seen & _REVIEW_ONLY) >= 2

    # walking -------------------------------------------------------------------------

    def _walk(self, part: _Part) -> None:
        for child in part.children:
            self._dispatch(child)

    def _nested(self, part: _Part) -> None:
        """Main sections nested under another main section are read on their own."""
        for child in part.children:
            if child.kind in _MAIN:
                self._dispatch(child)
            else:
                self._nested(child)

    def _dispatch(self, part: _Part) -> None:
        kind = part.kind
        if part is self.title_part:
            self._candidates(part.blocks, 1)
            self._walk(part)
        elif kind is None:
            self._unknown(part)
        elif kind == "field":
            self._heading_field(part, 1)
            self._walk(part)
        elif kind == "section":
            self._section(part)
            self._nested(part)
        else:
            self.seen.add(kind)
            self._main(part, kind)
            self._nested(part)

    def _main(self, part: _Part, kind: str) -> None:
        if kind == "summary":
            self._summary(part)
        elif kind in _SEVERITIES:
            self._findings(part, _SEVERITIES[kind])
        elif kind == "sections":
            self._sections(part)
        elif kind == "checklist":
            self._checklist(part)
        elif kind == "risk_assessment":
            self.risk.append(self._raw(self._subtree(part)))
        else:
            self.lists.setdefault(kind, []).extend(self._items(part))

    def _own(self, part: _Part) -> list[_Part]:
        return [child for child in part.children if child.kind not in _MAIN]

    def _subtree(self, part: _Part) -> list[SyntaxTreeNode]:
        """The blocks under a part, its own subheadings included, nested main sections not."""
        nodes = list(part.blocks)
        for child in self._own(part):
            nodes += [child.heading, *self._subtree(child)] if child.heading else self._subtree(child)
        return nodes

    def _has_known(self, part: _Part) -> bool:
        return any(child.kind is not None or self._has_known(child) for child in part.children)

    def _raw(self, nodes: list[SyntaxTreeNode]) -> str:
        """The source lines of ``nodes``, HTML comments left out."""
        spans = [(node.map, _is_comment(node)) for node in nodes if node.map]
        if not spans:
            return ""
        skip = {i for (start, end), comment in spans if comment for i in range(start, end)}
        first, last = spans[0][0][0], spans[-1][0][1]
        return "\n".join(self.lines[i] for i in range(first, last) if i not in skip).strip()

    def _unknown(self, part: _Part) -> None:
        transparent = self._has_known(part)
        nodes = part.blocks if transparent else self._subtree(part)
        if not self._candidates(nodes, 1):
            text = self._raw(nodes)
            if text or not transparent:
                self._extra(part.plain, text)
        if transparent:
            self._walk(part)

    def _extra(self, heading: str, text: str) -> None:
        self.extras[heading] = f"{self.extras[heading]}\n\n{text}".strip() if heading in self.extras else text

    # summary values --------------------------------------------------------------------

    def _set(self, name: str, value: Any, priority: int) -> bool:
        if value is None:
            return False
        if name not in self.values or self.values[name][0] > priority:
            self.values[name] = (priority, value)
        return True

    def _candidates(self, nodes: list[SyntaxTreeNode], priority: int) -> bool:
        """Read summary labels from lines and table rows; True when any value was read."""
        hits = [self._set(found[0], _value(*found), priority) for found in map(_field, _texts(nodes)) if found]
        return any(hits)

    def _heading_field(self, part: _Part, priority: int) -> bool:
        """``### Completeness Score: 7/10``, or ``### Completeness`` followed by ``Score: 7/10``."""
        found = _field(part.plain)
        if not found:
            return False
        rest = found[1]
        if not re.search(r"\w", rest):
            rest = next(iter(_texts(part.blocks)), "")
        return self._set(found[0], _value(found[0], rest), priority)

    def _summary(self, part: _Part) -> None:
        self._candidates(part.blocks, 0)
        for child in self._own(part):
            self._heading_field(child, 0)
            self._summary(child)

    # sections and lists ----------------------------------------------------------------

    def _section(self, part: _Part) -> None:
        section = self.sections.get(_norm(part.plain))
        if section is None:
            self._extra(part.plain, self._raw(self._subtree(part)))
            return
        text = re.sub(r"^(\s*)\\(#|```|~~~)", r"\1\2", self._raw(self._subtree(part)), flags=re.M)
        self.feedback.setdefault(section.key, SectionFeedback(key=section.key, title=section.title, feedback=text))

    def _sections(self, part: _Part) -> None:
        for child in self._own(part):
            if child.kind == "field":
                self._heading_field(child, 1)
            else:
                self._section(child)
        for line in _lines([n for n in part.blocks if n.type in _LISTS]):
            split = _split_title(line)
            section = self.sections.get(_norm(split[0])) if split else None
            if split and section:
                entry = SectionFeedback(key=section.key, title=section.title, feedback=split[1])
                self.feedback.setdefault(section.key, entry)

    def _items(self, part: _Part) -> list[str]:
        nodes = self._subtree(part)
        lists = [node for node in nodes if node.type in _LISTS]
        if lists:
            items = [_flat(" ".join(_lines(item.children))) for lst in lists for item in lst.children]
        else:
            items = [_flat(node.children[0].content) for node in nodes if node.type == "paragraph"]
        items = [item for item in items if item]
        return [] if _is_none(items) else items

    def _findings(self, part: _Part, severity: Severity) -> None:
        items = [item for node in part.blocks if node.type in _LISTS for item in node.children]
        groups = [_lines(item.children) for item in items]
        children = self._own(part)
        if not items and not children:
            groups = [_lines([node]) for node in part.blocks if node.type == "paragraph"]
        groups = [lines for lines in groups if lines]
        if not _is_none([" ".join(lines) for lines in groups]):
            self.findings += [_finding(severity, lines) for lines in groups]
        for child in children:
            title = _clean_title(child.plain)
            self.findings.append(_finding(severity, _lines(self._subtree(child)), title=title))

    def _checklist(self, part: _Part) -> None:
        for text in _texts(self._subtree(part)):
            match = _CHECK.match(text)
            item = self._item(match.group("text")) if match else None
            if match and item and item.key not in self.checklist:
                checked = match.group("mark") is not None
                self.checklist[item.key] = ChecklistEntry(key=item.key, text=item.text, checked=checked)

    def _item(self, text: str) -> ChecklistItem | None:
        norm = _norm(text)
        matches = [i for i in self.items if norm == _norm(i.text) or norm.startswith(_norm(i.text) + " ")]
        return max(matches, key=lambda i: len(i.text), default=None)

    # result --------------------------------------------------------------------------

    def result(self, profile: Profile) -> ParsedReview:
        """The collected values as a :class:`ParsedReview`."""
        risk = "\n\n".join(text for text in self.risk if text).strip()
        data: dict[str, Any] = {name: value for name, (_, value) in self.values.items()}
        data |= {name: items for name, items in self.lists.items()}
        data |= {"findings": self.findings, "sections": list(self.feedback.values())}
        data |= {"checklist": list(self.checklist.values())}
        data["risk_assessment"] = None if risk in ("", "Not assessed.") else risk
        review = Review(title=self.title or "", profile=profile.name, processing=Processing(mode="ingested"), **data)
        return ParsedReview(review=review, found=self._found(data), extra_sections=dict(self.extras))

    def _found(self, data: dict[str, Any]) -> list[str]:
        present = {name for name, value in data.items() if value is not None and name in self.values}
        present |= {kind for kind in self.seen if kind in _LIST_KINDS or kind in ("checklist", "sections")}
        present |= {"findings"} if self.seen & set(_SEVERITIES) else set()
        present |= {"sections"} if self.feedback else set()
        present |= {"risk_assessment"} if data["risk_assessment"] is not None else set()
        present |= {"title"} if self.title else set()
        return [name for name in Review.model_fields if name in present]
