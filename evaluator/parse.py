"""Markdown review -> :class:`Review`, for reviews written by this tool, by people or other tools.

Pure: text in, :class:`ParsedReview` out. markdown-it gives the structure: headings make a tree
of parts, each recognised by its normalised heading, and a value is read only where the structure
puts it. Regexes only look at one heading, item or line. Text fields keep their inline markdown.
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
    SEVERITIES,
    ChecklistEntry,
    Finding,
    Processing,
    Review,
    SectionFeedback,
    Severity,
)
from evaluator.text import one_line

_MD = MarkdownIt("commonmark").enable("table")
_LISTS = ("bullet_list", "ordered_list")

# Normalised heading -> kind. Kinds are Review field names, or a severity for the findings.
_ALIASES = {
    alias: kind
    for kind, aliases in {
        "summary": "review summary|summary|executive summary|overall summary",
        "strengths": "strengths|key strengths",
        "critical": "critical issues",
        "recommendation": "recommendations",
        "suggestion": "suggestions",
        "sections": "section by section review|section by section",
        "missing_elements": "missing elements",
        "alternative_approaches": "alternative approaches",
        "risk_assessment": "risk assessment review|risk assessment",
        "checklist": "implementation readiness checklist|readiness checklist",
        "next_steps": "recommended next steps|next steps",
    }.items()
    for alias in aliases.split("|")
}
_SEVERITIES: dict[str, Severity] = {severity: severity for severity in SEVERITIES}
_MAIN = {*_ALIASES.values()}
# Headings a design document does not have; two of them make a review.
_REVIEW_ONLY = {"strengths", "critical", "recommendation", "suggestion", "sections", "missing_elements", "checklist"}

_FIELD_RES = {
    name: re.compile(rf"^\W*(?:{label})\b(?P<rest>.*)$", re.I | re.S)
    for name, label in {
        "overall_assessment": r"overall(?:\s+(?:assessment|rating|verdict))?",
        "completeness_score": r"completeness(?:\s+score)?",
        "technical_soundness_score": r"(?:technical\s+)?soundness(?:\s+score)?",
        "implementation_readiness": r"(?:implementation\s+)?readiness(?!\s+checklist)",
    }.items()
}
_SCORE = re.compile(r"(?<![\d.])(\d{1,2}(?:\.\d+)?)\s*(?:/|out\s+of)\s*10(?:\.0+)?(?![\d.])", re.I)
_TITLE = re.compile(r"(?i)^[*_]{0,2}technical\s+design\s+review[*_]{0,2}\s*[:\-–—]\s*[*_]{0,2}(?P<title>.*)$")
_BOLD = re.compile(r"^[^\w*]*(\*\*|__)(?P<title>.+?)\1(?P<rest>.*)$", re.S)
_META = re.compile(r"^[*_]{0,2}(?P<label>section|evidence)[*_]{0,2}\s*:\s*[*_]{0,2}\s*(?P<value>.*)$", re.I | re.S)
_EVIDENCE = re.compile(r"^(?P<quote>.*?)\s*(?P<where>\((?P<neg>not\s+)?found\s+in\s+the\s+design\))?\s*$", re.I | re.S)
_CHECK = re.compile(r"^\[\s*(?P<mark>[xX✓✔])?\s*\]\s*(?P<text>.+)$", re.S)
_NONE = re.compile(
    r"^[*_]*(?:none|n/a|no\s+(?:\w+\s+)?(?:issues|findings|problems|concerns|recommendations|suggestions))"
    r"(?:\s+(?:identified|found|noted))?[.!]?[*_]*$",
    re.I,
)


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
    plain: str = ""  # the heading without markup
    raw: str = ""  # the heading as written


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
        raise DocumentError("not a review: no review title, summary scores or review sections (Strengths...) found")
    return reader.result(profile)


def _plain(node: SyntaxTreeNode) -> str:
    """The text of a node without inline markup."""
    if node.type in ("text", "code_inline"):
        return node.content
    if node.type in ("softbreak", "hardbreak"):
        return "\n"
    if node.type == "html_inline":
        return ""
    return "".join(_plain(child) for child in node.children)


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
    text = one_line(text.replace("**", "").replace("__", "").replace("`", ""))
    match = re.match(r"(.+?[.!?])(?:\s|$)", text)
    sentence = (match.group(1) if match else text).rstrip(".")
    if len(sentence) <= limit:
        return sentence
    return (sentence[:limit].rsplit(" ", 1)[0] or sentence[:limit]).rstrip(" ,;:")


def _lines(nodes: list[SyntaxTreeNode], plain: bool = False) -> list[str]:
    """Raw lines of every paragraph, depth first, code and HTML left out.

    ``plain``: lines without markup, and table rows as their cells joined by ': '.
    """
    lines: list[str] = []
    for node in nodes:
        if node.type == "paragraph":
            text = _plain(node) if plain else node.children[0].content
            lines += [line.strip() for line in text.splitlines() if line.strip()]
        elif node.type == "tr" and plain:
            lines.append(": ".join(_plain(cell).strip() for cell in node.children))
        elif node.type not in ("fence", "code_block", "html_block", "inline"):
            lines += _lines(node.children, plain)
    return lines


def _is_none(items: list[str]) -> bool:
    return len(items) == 1 and bool(_NONE.match(items[0]))


def _choice(text: str, options: tuple[str, ...]) -> str | None:
    """The allowed value ``text`` starts with (case-insensitive, whole words), else None."""
    text = one_line(re.sub(r"^\W+", "", text)).lower()
    for option in sorted(options, key=len, reverse=True):
        if re.match(re.escape(option.lower()) + r"\b", text):
            return option
    return None


def _score(text: str) -> float | None:
    match = _SCORE.search(text)
    value = float(match.group(1)) if match else None
    return value if value is not None and 0 <= value <= 10 else None


def _value(name: str, text: str) -> Any:
    options = {"overall_assessment": ASSESSMENTS, "implementation_readiness": READINESS}.get(name)
    return _choice(text, options) if options else _score(text)


def _field(text: str) -> tuple[str, str] | None:
    """``(field, rest)`` when ``text`` starts with a summary label, e.g. 'Completeness Score: 7/10'."""
    for name, regex in _FIELD_RES.items():
        match = regex.match(text)
        if match:
            return name, re.sub(r"^[\s:*_=|\-–—]+", "", match.group("rest"))
    return None


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
    detail = re.sub(r"^\s*(?::|[–—]|-(?=\s|$))?\s*", "", rest, count=1)
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
            meta["section"] = one_line(match.group("value"))
        elif match:
            meta["evidence"], meta["evidence_found"] = _evidence(match.group("value"))
        else:
            text.append(line)
    split = _split_title(text[0]) if title is None and text else None
    if split:
        title, text = split[0], [split[1], *text[1:]]
    elif title is None:
        title = _first_sentence(" ".join(text))
    return Finding(severity=severity, title=title, detail=one_line(" ".join(text)), **meta)


def _tree(root: SyntaxTreeNode) -> tuple[_Part, list[_Part]]:
    """The root part and every part in order. Headings nest by level; other blocks belong to the last heading."""
    top = _Part(level=0, heading=None)
    stack, parts = [top], []
    for node in root.children:
        if node.type != "heading":
            stack[-1].blocks.append(node)
            continue
        raw = node.children[0].content.strip() if node.children else ""
        part = _Part(level=int(node.tag[1:]), heading=node, plain=_plain(node).strip(), raw=raw)
        while stack[-1].level >= part.level:
            stack.pop()
        stack[-1].children.append(part)
        stack.append(part)
        parts.append(part)
    return top, parts


class _Reader:
    """Walks the part tree once and collects every value it recognises."""

    def __init__(self, text: str, profile: Profile | None) -> None:
        text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
        self.lines = text.split("\n")
        self.root, self.parts = _tree(SyntaxTreeNode(_MD.parse(text)))
        self.sections: dict[str, ReviewSection] = {}
        self.items: list[ChecklistItem] = profile.checklist if profile else []
        for section in profile.sections if profile else []:
            self.sections[_norm(section.title)] = self.sections[_norm(section.key.replace("_", " "))] = section
        self.title: str | None = None
        self.title_part: _Part | None = None
        self.prefixed = False
        self.values: dict[str, tuple[int, Any]] = {}
        self.lists: dict[str, list[str]] = {}
        self.findings: list[Finding] = []
        self.feedback: dict[str, SectionFeedback] = {}
        self.checklist: dict[str, ChecklistEntry] = {}
        self.risk: list[str] = []
        self.extras: dict[str, str] = {}
        self.seen: set[str] = set()

    def read(self) -> _Reader:
        """Classify every heading, then walk the tree."""
        for part in self.parts:
            part.kind = self._kind(part)
        self._find_title(self.parts)
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
                self.title_part, self.prefixed = part, True
                return
        first = next((p for p in parts if p.level == 1 and p.kind is None), None)
        if first:
            self.title, self.title_part = first.plain or None, first

    def is_review(self) -> bool:
        """A review has its title, a summary value, or two headings no design document has."""
        return self.prefixed or bool(self.values) or len(self.seen & _REVIEW_ONLY) >= 2

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
            readers = {"summary": self._summary, "sections": self._sections, "checklist": self._checklist}
            readers |= {"risk_assessment": self._risk} | dict.fromkeys(_SEVERITIES, self._findings)
            readers.get(kind, self._list)(part)
            self._nested(part)

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
        spans = [(n.map, n.type == "html_block" and n.content.startswith("<!--")) for n in nodes if n.map]
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

    def _set(self, name: str, value: Any, priority: int) -> bool:
        if value is not None and self.values.get(name, (9, None))[0] > priority:
            self.values[name] = (priority, value)
        return value is not None

    def _candidates(self, nodes: list[SyntaxTreeNode], priority: int) -> bool:
        """Read summary labels from lines and table rows; True when any value was read."""
        fields = [found for found in map(_field, _lines(nodes, plain=True)) if found]
        return any([self._set(name, _value(name, rest), priority) for name, rest in fields])

    def _heading_field(self, part: _Part, priority: int) -> bool:
        """``### Completeness Score: 7/10``, or ``### Completeness`` followed by ``Score: 7/10``."""
        found = _field(part.plain)
        if found and not re.search(r"\w", found[1]):
            found = (found[0], next(iter(_lines(part.blocks, plain=True)), ""))
        return found is not None and self._set(found[0], _value(*found), priority)

    def _summary(self, part: _Part) -> None:
        self._candidates(part.blocks, 0)
        for child in self._own(part):
            self._heading_field(child, 0)
            self._summary(child)

    def _section(self, part: _Part) -> None:
        section = self.sections.get(_norm(part.plain))
        if section is None:
            self._extra(part.plain, self._raw(self._subtree(part)))
            return
        text = re.sub(r"^(\s*)\\(#|```|~~~)", r"\1\2", self._raw(self._subtree(part)), flags=re.M)
        self._feedback(section, text)

    def _feedback(self, section: ReviewSection, text: str) -> None:
        self.feedback.setdefault(section.key, SectionFeedback(key=section.key, title=section.title, feedback=text))

    def _sections(self, part: _Part) -> None:
        for child in self._own(part):
            if child.kind == "field":
                self._heading_field(child, 1)
            else:
                self._section(child)
        # "- **Data Model**: feedback" bullets right under the heading
        for title, text in filter(None, map(_split_title, _lines([n for n in part.blocks if n.type in _LISTS]))):
            if _norm(title) in self.sections:
                self._feedback(self.sections[_norm(title)], text)

    def _risk(self, part: _Part) -> None:
        self.risk.append(self._raw(self._subtree(part)))

    def _list(self, part: _Part) -> None:
        self.lists.setdefault(part.kind or "", []).extend(self._items(part))

    def _items(self, part: _Part) -> list[str]:
        nodes = self._subtree(part)
        lists = [node for node in nodes if node.type in _LISTS]
        if lists:
            items = [one_line(" ".join(_lines(item.children))) for lst in lists for item in lst.children]
        else:
            items = [one_line(node.children[0].content) for node in nodes if node.type == "paragraph"]
        items = [item for item in items if item]
        return [] if _is_none(items) else items

    def _findings(self, part: _Part) -> None:
        severity = _SEVERITIES[part.kind or ""]
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
        for text in _lines(self._subtree(part), plain=True):
            match = _CHECK.match(text)
            item = self._item(match.group("text")) if match else None
            if match and item and item.key not in self.checklist:
                checked = match.group("mark") is not None
                self.checklist[item.key] = ChecklistEntry(key=item.key, text=item.text, checked=checked)

    def _item(self, text: str) -> ChecklistItem | None:
        norm = _norm(text)
        matches = [i for i in self.items if norm == _norm(i.text) or norm.startswith(_norm(i.text) + " ")]
        return max(matches, key=lambda i: len(i.text), default=None)

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
        kinds = {"findings" if kind in _SEVERITIES else kind for kind in self.seen} - {"summary", "risk_assessment"}
        optional = {"sections": self.feedback, "risk_assessment": data["risk_assessment"], "title": self.title}
        present = kinds | set(self.values) | {name for name, value in optional.items() if value}
        return [name for name in Review.model_fields if name in present]
