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
from evaluator.grounding.profiles import ChecklistItem, Profile, ReviewSection
from evaluator.ingest.findings import Scale, lead_severity, severity_word, table_findings, used_words, verdict
from evaluator.ingest.headings import (
    ALIASES,
    MAIN,
    REVIEW_ONLY,
    TITLE,
    TRAILING_SYMBOLS,
    clean_title,
    norm_heading,
    unrevised,
)
from evaluator.ingest.lines import (
    check_lines,
    finding,
    is_nothing,
    node_lines,
    plain_text,
    read_check,
    shown,
    split_title,
    strip_numbering,
    summary_label,
    values_of,
)
from evaluator.review.record import SEVERITIES, ChecklistEntry, Finding, Processing, Review, SectionFeedback, Severity
from evaluator.text import one_line

_MD = MarkdownIt("commonmark").enable("table")
_LISTS = ("bullet_list", "ordered_list")

_SEVERITIES: dict[str, Severity] = {severity: severity for severity in SEVERITIES}
_NOT_ASSESSED = re.compile(r"^\W*(?:not\s+(?:assessed|scored|rated|applicable)|n/a)\b", re.I)
# Review fields a parse can fill, in Review order; a field is "found" when it holds a value.
_CONTENT = [name for name in Review.model_fields if name not in ("schema_version", "profile", "processing")]


@dataclass(frozen=True)
class ParsedReview:
    """A review read from markdown, with what was found and what was not understood."""

    review: Review
    found: list[str]  # the fields that hold a value (so a stored row), in Review order
    extra_sections: dict[str, str]
    notes: list[str] = field(default_factory=list)  # what a reader should know: revised values, "none" stated...


@dataclass(eq=False)
class _Part:
    """A heading and what follows it up to the next heading; deeper headings are children."""

    level: int
    heading: SyntaxTreeNode | None
    blocks: list[SyntaxTreeNode] = field(default_factory=list)
    children: list[_Part] = field(default_factory=list)
    kind: str | None = None
    word: str = ""  # a severity heading's word: 'warning', 'high'...
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


def _tree(root: SyntaxTreeNode) -> tuple[_Part, list[_Part]]:
    """The root part and every part in order. Headings nest by level; other blocks belong to the last heading."""
    top = _Part(level=0, heading=None)
    stack, parts = [top], []
    for node in root.children:
        if node.type != "heading":
            stack[-1].blocks.append(node)
            continue
        raw = node.children[0].content.strip() if node.children else ""
        part = _Part(level=int(node.tag[1:]), heading=node, plain=plain_text(node).strip(), raw=raw)
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
        self.tree = SyntaxTreeNode(_MD.parse(text))
        self.root, self.parts = _tree(self.tree)
        self.sections: dict[str, ReviewSection] = {}
        self.items: list[ChecklistItem] = profile.checklist if profile else []
        for section in profile.sections if profile else []:
            self.sections[norm_heading(section.title)] = self.sections[norm_heading(section.key.replace("_", " "))] = (
                section
            )
        self.title: str | None = None
        self.title_part: _Part | None = None
        self.prefixed = False
        self.values: dict[str, tuple[int, Any]] = {}
        self.history: dict[str, list[Any]] = {}  # every value read for a summary field, in order
        self.lists: dict[str, list[str]] = {}
        self.findings: list[Finding] = []
        self.feedback: list[SectionFeedback] = []
        self.checklist: list[ChecklistEntry] = []
        self.keys: dict[str, set[str]] = {"sections": set(), "checklist": set()}  # profile keys given out
        self.risk: list[str] = []
        self.extras: dict[str, str] = {}
        self.seen: set[str] = set()
        self.notes: list[str] = []
        self.scale = Scale()  # the severity words this review uses, and how they were read

    def read(self) -> _Reader:
        """Classify every heading, then walk the tree."""
        for part in self.parts:
            part.kind = self._kind(part)
        self.scale.words = {p.word for p in self.parts if p.kind == "severity"} | used_words(self.tree, norm_heading)
        self._find_title(self.parts)
        self._candidates(self.root.blocks, 1)
        self._walk(self.root)
        return self

    def _kind(self, part: _Part) -> str | None:
        norm = norm_heading(part.plain)
        if norm in ALIASES or unrevised(norm) in ALIASES:
            return ALIASES.get(norm) or ALIASES[unrevised(norm)]
        if self._section_for(part.plain):
            return "section"
        if word := severity_word(norm):
            part.word = word
            return "severity"
        if verdict(part.plain):
            return "verdict"
        found = summary_label(part.plain)
        if found and (not re.search(r"\w", found[1]) or values_of(*found)):
            return "field"
        return None

    def _section_for(self, title: str) -> ReviewSection | None:
        """The profile section a heading names: 'Section 4: Data Model', 'API Design — 6/10', '2.1 Data Model'."""
        title = strip_numbering(re.sub(r"^[^\w(§]+", "", title.strip()))
        short = re.split(r"\s+[—–|-]\s+|:\s|\s\(", title, maxsplit=1)[0]
        return self.sections.get(norm_heading(title)) or self.sections.get(norm_heading(short))

    def _find_title(self, parts: list[_Part]) -> None:
        for part in parts:
            match = TITLE.match(part.raw)
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
        return self.prefixed or bool(self.values) or len(self.seen & REVIEW_ONLY) >= 2

    def _walk(self, part: _Part) -> None:
        adopting = False
        for i, child in enumerate(part.children):
            if adopting and child.kind in (None, "section") and child is not self.title_part:
                self._entry(child)
                self._nested(child)
                continue
            adopting = self._adopts(child, part.children[i + 1 :])
            self._dispatch(child)

    def _adopts(self, part: _Part, following: list[_Part]) -> bool:
        """A Section-by-Section heading without subheadings whose entries follow at its own level:
        it is empty, or a profile section comes before the next known heading."""
        if part.kind != "sections" or part.children:
            return False
        run = [p.kind for p in following[: next((i for i, p in enumerate(following) if p.kind in MAIN), None)]]
        return not part.blocks or "section" in run

    def _nested(self, part: _Part) -> None:
        """Main sections nested under another main section are read on their own."""
        for child in part.children:
            if child.kind in MAIN:
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
            self._entry(part)
            self._nested(part)
        else:
            self.seen.add(kind)
            readers = {"summary": self._summary, "sections": self._sections, "checklist": self._checklist}
            readers |= {"risk_assessment": self._risk} | dict.fromkeys(_SEVERITIES, self._findings)
            readers |= {"findings": self._findings_group, "severity": self._findings, "verdict": self._verdict}
            readers.get(kind, self._list)(part)
            self._nested(part)

    def _own(self, part: _Part) -> list[_Part]:
        return [child for child in part.children if child.kind not in MAIN]

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
        nodes = [node for node in nodes if not self._severity_table(node)]
        if not self._candidates(nodes, 1):
            text = self._raw(nodes)
            if text or not transparent:
                self._extra(part.plain, text)
        if transparent:
            self._walk(part)

    def _extra(self, heading: str, text: str) -> None:
        self.extras[heading] = f"{self.extras[heading]}\n\n{text}".strip() if heading in self.extras else text

    def _set(self, name: str, value: Any, priority: int) -> bool:
        """Keep ``value`` unless a better placed one exists; a later value of the same place wins (a revision)."""
        if value is None:
            return False
        self.history.setdefault(name, []).append(value)
        if self.values.get(name, (9, None))[0] >= priority:
            self.values[name] = (priority, value)
        return True

    def _set_all(self, name: str, text: str, priority: int) -> bool:
        values = values_of(name, text)
        if not values and _NOT_ASSESSED.match(text):  # "Completeness Score: not assessed (...)": no value, said so
            self.notes.append(f"{name}: the review states it was not assessed")
        return any([self._set(name, value, priority) for value in values])

    def _candidates(self, nodes: list[SyntaxTreeNode], priority: int) -> bool:
        """Read summary labels from lines and table rows; True when any value was read."""
        fields = [found for found in map(summary_label, node_lines(nodes, plain=True)) if found]
        return any([self._set_all(name, rest, priority) for name, rest in fields])

    def _heading_field(self, part: _Part, priority: int) -> bool:
        """``### Completeness Score: 7/10``, or ``### Completeness`` followed by ``Score: 7/10``."""
        found = summary_label(part.plain)
        if found and not re.search(r"\w", found[1]):
            found = (found[0], next(iter(node_lines(part.blocks, plain=True)), ""))
        return found is not None and self._set_all(*found, priority)

    def _summary(self, part: _Part) -> None:
        self._candidates(part.blocks, 0)
        self._verdict_lines(part.blocks)
        for child in self._own(part):
            self._heading_field(child, 0)
            self._summary(child)

    # --- Section-by-Section ----------------------------------------------------------------

    def _feedback(self, section: ReviewSection | None, title: str, text: str) -> None:
        """One entry; a profile section gives its key once, a repeat or an unknown title has none."""
        key = section.key if section and section.key not in self.keys["sections"] else None
        if section and key is None:
            self.notes.append(f"sections: '{title}' repeats {section.key}; stored without a key")
        self.keys["sections"] |= {key} if key else set()
        title = section.title if section and key else TRAILING_SYMBOLS.sub("", clean_title(title)) or title
        text = re.sub(r"^(\s*)\\(#|```|~~~)", r"\1\2", text, flags=re.M)  # render.block's escapes
        self.feedback.append(SectionFeedback(key=key, title=title, feedback=text))

    def _has_section(self, part: _Part) -> bool:
        return any(self._section_for(c.plain) or self._has_section(c) for c in self._own(part))

    def _entry(self, part: _Part) -> None:
        """A heading under Section-by-Section (or a profile section's heading anywhere), whatever its level.

        When headings below it name profile sections, it only groups entries: each is read on its own.
        """
        section = self._section_for(part.plain)
        if not self._has_section(part):
            self._feedback(section, part.plain, self._raw(self._subtree(part)))
            return
        text = self._raw(part.blocks)
        if section or text:
            self._feedback(section, part.plain, text)
        for child in self._own(part):
            self._entry(child)

    def _sections(self, part: _Part) -> None:
        for child in self._own(part):
            if child.kind == "field":
                self._heading_field(child, 1)
            else:
                self._entry(child)
        self._bold_entries(part)

    def _bold_entries(self, part: _Part) -> None:
        """Entries as ``**Data Model**: text`` bullets, or a ``**Data Model**`` paragraph and what follows it."""
        entries: list[tuple[str, list[str]]] = []
        rest: list[SyntaxTreeNode] = []
        for node in part.blocks:
            split = split_title(node.children[0].content) if node.type == "paragraph" else None
            if node.type == "table" and not entries:
                rows = [row for body in node.children if body.type == "tbody" for row in body.children]
                cells = [[plain_text(cell).strip() for cell in row.children] for row in rows]
                entries += [(row[0], [" | ".join(filter(None, row[1:]))]) for row in cells if row and row[0]]
            elif split:
                entries.append((split[0], [split[1]] if split[1] else []))
            elif entries:
                entries[-1][1].append(self._raw([node]))
            elif node.type in _LISTS:
                bullets = [(item, node_lines(item.children)) for item in node.children]
                titled = [(split, lines) for _, lines in bullets if lines and (split := split_title(lines[0]))]
                entries += [(title, [one_line(" ".join([detail, *lines[1:]]))]) for (title, detail), lines in titled]
                rest += [item for item, lines in bullets if not lines or not split_title(lines[0])]
            else:
                rest.append(node)
        for title, texts in entries:
            self._feedback(self._section_for(title), title, "\n\n".join(texts).strip())
        if self._raw(rest):
            self._extra(part.plain, "\n\n".join(filter(None, (self._raw([node]) for node in rest))))

    # --- lists, findings, checklist ---------------------------------------------------------

    def _risk(self, part: _Part) -> None:
        self.risk.append(self._raw(self._subtree(part)))

    def _list(self, part: _Part) -> None:
        self.lists.setdefault(part.kind or "", []).extend(self._items(part))

    def _without_nothing(self, part: _Part, items: list[str], paragraphs: bool) -> list[str]:
        """``items`` without "none"-style lines; prose after a "none" paragraph is commentary, kept as an extra."""
        kept = [item for item in items if not is_nothing(item)]
        if paragraphs and items and is_nothing(items[0]):
            kept = []
            if items[1:]:
                self._extra(part.plain, "\n\n".join(items[1:]))
        if len(kept) < len(items):
            self.notes.append(f"{part.kind}: the review states there are none")
        return kept

    def _items(self, part: _Part) -> list[str]:
        nodes = self._subtree(part)
        lists = [node for node in nodes if node.type in _LISTS]
        if lists:
            items = [one_line(" ".join(node_lines(item.children))) for lst in lists for item in lst.children]
        else:
            items = [one_line(node.children[0].content) for node in nodes if node.type == "paragraph"]
        return self._without_nothing(part, [item for item in items if item], paragraphs=not lists)

    def _findings(self, part: _Part) -> None:
        """Findings of one severity: list items or paragraphs, or one per subheading."""
        if part.kind == "severity":
            severity = self.scale.severity(part.word, part.plain)
        else:
            severity = _SEVERITIES[part.kind or ""]
        items = [item for node in part.blocks if node.type in _LISTS for item in node.children]
        groups = [node_lines(item.children) for item in items]
        children = self._own(part)
        paragraphs = not items and not children
        if paragraphs:
            groups = [node_lines([node]) for node in part.blocks if node.type == "paragraph"]
        groups = [lines for lines in groups if lines]
        kept = set(self._without_nothing(part, ["\n".join(lines) for lines in groups], paragraphs))
        self.findings += [finding(severity, lines) for lines in groups if "\n".join(lines) in kept]
        for child in children:
            title = clean_title(child.plain)
            if is_nothing(title):
                self.notes.append(f"{part.kind}: the review states there are none")
                continue
            self.findings.append(finding(severity, node_lines(self._subtree(child)), title=title))

    def _findings_group(self, part: _Part) -> None:
        """A Findings part: severity tables, items led by a severity word, subheadings of a severity
        (dispatched as main parts) or led by one; what has no severity is noted and not stored."""
        unread: list[SyntaxTreeNode] = []
        for node in part.blocks:
            if self._severity_table(node):
                continue
            if node.type not in _LISTS:
                unread.append(node)
                continue
            for item in node.children:
                lines = node_lines(item.children)
                lead = lead_severity(lines[0]) if lines else None
                if lead:
                    self.findings.append(finding(self.scale.severity(lead[0], lead[0]), [lead[1], *lines[1:]]))
                elif lines and not is_nothing(lines[0]):
                    unread.append(item)
        for child in self._own(part):
            lead = lead_severity(clean_title(child.plain))
            if lead is None:
                self._unknown(child)
                continue
            severity = self.scale.severity(lead[0], lead[0])
            self.findings.append(finding(severity, node_lines(self._subtree(child)), title=lead[1]))
        items = sum(node.type == "list_item" for node in unread)
        if items:
            self.notes.append(f"findings: {items} item{'s' * (items > 1)} without a severity not stored")
        text = "\n\n".join(filter(None, (self._raw([node]) for node in unread)))
        if text:
            self._extra(part.plain, text)

    def _severity_table(self, node: SyntaxTreeNode) -> bool:
        """Read a table with a severity column into findings; False for any other node."""
        found = table_findings(node, self.scale, norm_heading) if node.type == "table" else None
        if found is None:
            return False
        self.findings += found
        self.seen.add("findings")
        return True

    def _verdict(self, part: _Part) -> None:
        """A verdict heading ('Proceed with Implementation') or part ('Recommendation', 'Decision'): the
        implementation readiness. Its prose is commentary; a part that states no verdict is an extra."""
        said = self._set("implementation_readiness", verdict(part.plain), 2)
        nodes = self._subtree(part)
        said = self._candidates(nodes, 1) | self._verdict_lines(nodes) | said
        if not said and (text := self._raw(nodes)):
            self._extra(part.plain, text)

    def _verdict_lines(self, nodes: list[SyntaxTreeNode]) -> bool:
        """Paragraphs that open with a verdict ('**Approve with changes** — fix 1 and 2'); True when one did."""
        lines = node_lines([node for node in nodes if node.type == "paragraph"], plain=True)
        found = [verdict(line, whole=False) for line in lines if summary_label(line) is None]
        return any([self._set("implementation_readiness", value, 2) for value in found])

    def _checklist(self, part: _Part) -> None:
        unmarked = 0
        for text, row in check_lines(self._subtree(part)):
            check = read_check(text, table_row=row)
            if check is None:
                unmarked += not is_nothing(text)
                continue
            item = self._item(check.text)
            key = item.key if item and item.key not in self.keys["checklist"] else None
            if item and key is None:
                self.notes.append(f"checklist: '{check.text}' repeats {item.key}; stored without a key")
            self.keys["checklist"] |= {key} if key else set()
            self.checklist.append(ChecklistEntry(key=key, text=check.text, checked=check.checked))
        if unmarked:
            self.notes.append(f"checklist: {unmarked} line{'s' * (unmarked > 1)} without a check mark not stored")

    def _item(self, text: str) -> ChecklistItem | None:
        norm = norm_heading(text)
        matches = [i for i in self.items if norm == norm_heading(i.text) or norm.startswith(norm_heading(i.text) + " ")]
        return max(matches, key=lambda i: len(i.text), default=None)

    # --- result ------------------------------------------------------------------------------

    def result(self, profile: Profile) -> ParsedReview:
        """The collected values as a :class:`ParsedReview`."""
        risk = "\n\n".join(text for text in self.risk if text).strip()
        data: dict[str, Any] = {name: value for name, (_, value) in self.values.items()}
        data |= {name: items for name, items in self.lists.items()}
        data |= {"findings": self.findings, "sections": self.feedback, "checklist": self.checklist}
        data["risk_assessment"] = None if risk in ("", "Not assessed.") else risk
        review = Review(title=self.title or "", profile=profile.name, processing=Processing(mode="ingested"), **data)
        found = [name for name in _CONTENT if getattr(review, name) not in (None, "", [])]
        unread = [f"not understood, kept only in the markdown: '{heading}'" for heading in self.extras]
        notes = self._value_notes() + list(dict.fromkeys(self.notes + self.scale.notes)) + unread
        return ParsedReview(review=review, found=found, extra_sections=dict(self.extras), notes=notes)

    def _value_notes(self) -> list[str]:
        """'completeness_score: 2 values (5, 8); kept 8' for every summary field given differently more than once."""
        notes = []
        for name, values in self.history.items():
            if len(set(values)) > 1:
                given = ", ".join(map(shown, values))
                notes.append(f"{name}: {len(values)} values ({given}); kept {shown(self.values[name][1])}")
        return notes
