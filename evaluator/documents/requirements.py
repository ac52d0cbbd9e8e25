"""A requirements document as a list of requirement statements with stable ids.

Recognised, in any mix:

* explicit ids at the start of a list item, table row, heading or line: ``FR-1``, ``NFR-3``,
  ``REQ-12``, ``SEC_01``, ``US-3.2``, ``PAY-FR01``, ``3.2.1``, and ids with no separator before the
  digits (``FR01``, ``NFR01``, ``REQ001``, ``UC12``, ``SRS5.12.2.1``, ``SDP3.2-2``), bold or not;
* user stories ("As a dispatcher, I want …", "As an operator I can …") and their acceptance
  criteria in Given/When/Then form, one requirement per criterion: ``US-04/AC-2``, with the story
  as its section (a story with criteria is traced through them);
* table rows that carry such an id, or a modal verb ("shall", "must", ...);
* numbered or bulleted statements with a modal verb, every item under a heading that says it
  lists requirements, constraints, use cases, user stories or acceptance criteria, and every item
  directly under the document's title (a requirements document that is one list);
* requirement sentences inside prose paragraphs ("The service shall publish ...").

Not requirements: whatever sits in a context, risk or meta section (background, motivation, history,
glossary, references, conventions, table of contents — :mod:`evaluator.documents.roles`) unless a
sentence there says "shall" (a "must" there describes: "Redis must be provisioned separately");
non-goals and out-of-scope items unless they say "shall"/"must"; sentences about the present
("Today, …"); lead-ins ending with a colon; lines that are only a link; table-of-contents lines
(links and page numbers); the paragraph defining the modal words (RFC 2119 conventions);
version, revision and reference rows; notes ("(Note: …)"); and statements that waive a demand
("no dedicated audit table is required", "X is optional"). Goals count only when the document
states nothing more binding — a KEP's goals are its requirements, a specification's goals are
its background. Statements without an explicit id get ``R<n>`` in document order, so the same
document always gives the same ids.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from evaluator.documents.passages import Block, blocks, cut_sentence
from evaluator.documents.roles import SectionRole, bare_heading, describes_present, section_roles
from evaluator.documents.terms import STOP_WORDS, content_stems, tokens

RequirementKind = Literal["statement", "row", "story", "criterion", "goal"]

# "FR-1", "TBO-NFR-03", and a prefix before a glued id: "PAY-FR01", "SYS_REQ12".
_SEPARATED_ID = r"[A-Z][A-Z0-9]*(?:[-_][A-Z][A-Z0-9]*)*?[-_](?:[A-Z]{1,6})?\d+(?:[.-]\d+)*[a-z]?"
_GLUED_ID = r"[A-Z]{2,6}\d+(?:\.\d+)*(?:-\d+(?:\.\d+)*)?[a-z]?"
# A lower-case id ("r1", "d10_3") counts only in bold and followed by a colon: "- **r1**: Create a task".
_LOWER_ID = r"(?<=\*\*|__)[a-z]{1,4}\d+(?:[._-]\d+)*(?=(?:\*\*|__)\s*:)"
_NUMBER_ID = r"\d+(?:\.\d+)+"
_ID = rf"(?:{_SEPARATED_ID}|{_GLUED_ID}|{_NUMBER_ID}|{_LOWER_ID})"
_LEADING_ID = re.compile(rf"^\s*(?:\*\*|__)?\[?({_ID})\]?(?:\*\*|__)?(\s*[:.)\]–—-]\s*|\s+)(?=\S)")
_ROW_ID = re.compile(rf"^(?:\*\*|__)?({_ID})(?:\*\*|__)?[.:]?$")
# Names that look like glued ids but are standards, protocols or units: "HTTP2", "SHA256", "ISO27001".
_NOT_IDS = frozenset(
    {
        "HTTP",
        "HTTPS",
        "TLS",
        "SSL",
        "SHA",
        "MD",
        "UTF",
        "ISO",
        "IEC",
        "IEEE",
        "IPV",
        "IP",
        "AES",
        "RSA",
        "PCI",
        "SOC",
        "TCP",
        "UDP",
        "DNS",
        "SQL",
        "API",
        "JSON",
        "XML",
        "CSV",
        "PDF",
        "HL",
        "FHIR",
        "GS",
        "EAN",
        "OWASP",
        "CWE",
        "CVE",
        "ES",
        "EC",
        "GPT",
        "LLM",
        "RFC",
        "BCP",
        "NIST",
        "FIPS",
        "PKCS",
        "OIDC",
        "SAML",
        "SMS",
        "MP",
        "HD",
        "UHD",
        "DDR",
        "USB",
        "WCAG",
    }
)
_MODAL = re.compile(
    r"\b(?:shall|must|is required to|are required to|has to|have to|needs to|need to|is expected to|"
    r"are expected to|should|will provide|will support)\b",
    re.IGNORECASE,
)
_OBLIGATION = re.compile(
    r"\b(?:requires?|required|never|always|at (?:most|least)|only|every|all|each|no(?! longer)|none|"
    r"cannot|may not|is not allowed|are not allowed|forbidden|prohibited)\b",
    re.IGNORECASE,
)
# "shall"/"must", and the same word in the languages requirements are often written in besides
# English: German, French, Spanish, Italian/Portuguese, Dutch, Czech/Polish, Danish/Norwegian, Swedish.
_STRONG_MODAL = re.compile(
    r"\b(?:shall|must|is required to|are required to|muss|müssen|doit|doivent|debe|deben|deve|devono|devem|"
    r"moet|moeten|musí|musi|muszą|skal|måste)\b",
    re.IGNORECASE,
)
_LIST_HEADING = re.compile(
    r"requirement|constraint|acceptance|criteria|rules|obligation|\bnfr\b|\bfr\b|user stor|\bstories\b|use cases?",
    re.I,
)
_NON_GOAL = re.compile(r"non[- ]?goal|out of scope|not in scope|excluded|exclusions", re.IGNORECASE)
_SOFT_GOAL = re.compile(r"\b(?:goals?|objectives?|aims?|success (?:criteria|metrics)|vision)\b", re.IGNORECASE)
_STORY = re.compile(  # "As a …, I want …", after a short title of its own ("Retry-safe purchase. *As a traveller …")
    r"^\W*(?:[^.!?*\n]{2,60}[.:]\s*\W*)?as (?:an?|the)\s+[^.;:!?]{2,80}?,?\s+I\s+"
    r"(?:want|can|need|would like|must|should|am able|expect|wish|will be able|'d like)\b",
    re.IGNORECASE,
)
# "Given …", "Scenario: Given …", "Scenario: out of stock: Given …"
_GIVEN = re.compile(r"^\W*(?:scenario\b[^:]*:\s*(?:[^:.]{1,80}:\s*)?)?given\b", re.IGNORECASE)
_SCENARIO_TITLE = re.compile(
    r"^\W*(?:scenario(?: outline)?|example)\s*:(?![^\n]*\bgiven\b)[^\n]*$(?![\s\S])", re.IGNORECASE
)
_STEP = re.compile(r"^\W*(?:when|then|and|but)\b", re.IGNORECASE)
_GWT = re.compile(r"\bgiven\b.+?\bwhen\b.+?\bthen\b", re.IGNORECASE | re.DOTALL)
_CRITERION_ID = re.compile(r"^\s*(?:\*\*|__)?((?:AC|Scenario|Criterion)[-_ ]?\d+)(?:\*\*|__)?\s*[:.)–—-]?\s*", re.I)
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_DOT_LEADER = re.compile(r"(?:\.{4,}|…{2,}|\t)\s*\d+\s*$|(?:\.\s){4,}")  # "Glossary .... 8", "Goals . . . . iii"
_ROMAN_PAGE = re.compile(r"\s(?:[ivxlc]{1,6}|[IVXLC]{1,6})(?:\s+\d{1,2})?$")  # "Business Use Case: Submitting xi"
_QUOTED_MODAL = re.compile(
    r"[\"“'‘*]+(?:must|shall|should|may|required|recommended|optional)(?: not)?[\"”'’*]+|"
    r"\b(?:MUST|SHALL|SHOULD|MAY|REQUIRED|RECOMMENDED|OPTIONAL)\b"
)
_CONVENTIONS = re.compile(r"\b(?:RFC\s?2119|RFC\s?8174|BCP\s?14)\b|\bkey ?words\b|\bare to be interpreted\b", re.I)
_DEFINES = re.compile(
    r"\binterpret|\bkey ?words\b|\b(?:are|is) used (?:to|in this)|\bin this (?:document|specification)\b|"
    r"\bconventions?\b|\bdenotes?\b|\bindicates? (?:a|an|that)\b|\bmeans? that\b",
    re.IGNORECASE,
)
_NOTE = re.compile(r"^\W*\(?\s*(?:note|nb|n\.b)\b\s*[:.\-–—)]", re.IGNORECASE)
_VERSION_CELL = re.compile(r"^(?:v(?:ersion)?\s*)?\d+(?:\.\d+){0,3}(?:[-+][\w.]+)?$", re.I)
_DATE = re.compile(
    r"\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}[./]\d{1,2}[./]\d{2,4}\b|"
    r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]* \d{4}\b",
    re.I,
)
_REQUIREMENTS_CONTEXT = re.compile(r"^(?:overview|summary|abstract|vision|about|executive summary)\b")
_WAIVER = re.compile(
    r"\b(?:is|are) not (?:required|needed|necessary|mandatory|in scope|a requirement)\b|"
    r"\bno\b[^.;]{0,60}\b(?:is|are) (?:required|needed|necessary|planned)\b|\bneed not\b|"
    r"\b(?:does|do)(?: not|n't) (?:need|have) to\b|\b(?:is|are) optional\b|\bout of scope\b",
    re.IGNORECASE,
)
_CODE_SPAN = re.compile(r"`([^`\n]+)`")
_ENDPOINT = re.compile(r"\b(?:GET|POST|PUT|PATCH|DELETE)\s+/\S*|(?<![\w/])/[a-z][\w{}:.-]*(?:/[\w{}:.-]+)+")
_STATUS = re.compile(r"\b(?:HTTP\s*)?[1-5]\d\d\s+(?:Accepted|Created|OK|No Content)\b|\b[1-5]\d\d\b(?=\s*[A-Z(]|\s*$)")
_IDENTIFIER = re.compile(r"\b[a-z][a-z0-9]*(?:[_.][a-z0-9]+)+\b|\b[a-z]+[A-Z][A-Za-z0-9]+\b|\b[A-Z][a-z0-9]+[A-Z]\w*\b")
_PROPER = re.compile(r"(?<![.!?:;—–-] )(?<!^)(?<=\s|\()[A-Z][A-Za-z0-9+#]{2,}\b")


@dataclass(frozen=True)
class Requirement:
    """One requirement statement.

    ``id`` is the document's own id, ``<story>/<criterion>`` for an acceptance criterion, or
    ``R<n>``; ``line`` is 1-based; ``section`` is the heading path (and the story, for a
    criterion); ``kind`` says what shape it had; ``terms`` are the key terms that a design
    addressing it would use (code spans, endpoints, status codes, identifiers, named
    technologies); ``stems`` the stems of all its content words, for retrieval. ``source``
    says where an imported requirement lives in its own file ("reqs.reqif: SPEC-OBJECT
    rmf-…", "needs.json: need REQ_1", "reqs.csv: row 7"); it is "" for one read from markdown.
    An imported requirement's ``line`` is its line in the markdown the import is written out
    as, the text the review reads and stores (:mod:`evaluator.documents.imports`).
    """

    id: str
    text: str
    line: int
    section: str
    explicit_id: bool = True
    terms: tuple[str, ...] = ()
    stems: tuple[str, ...] = field(default=(), repr=False)
    kind: RequirementKind = "statement"
    source: str = ""

    @property
    def mandatory(self) -> bool:
        """Whether it binds: says shall/must, or gives no modal at all (a table row, a story, a criterion)."""
        text = _ADVERSARY.sub("", self.text)
        return bool(_STRONG_MODAL.search(text)) or not _MODAL.search(text)

    @property
    def explicit(self) -> bool:
        """Whether it binds in so many words: "shall"/"must", an acceptance criterion (Given/When/Then),
        or a statement of obligation ("All endpoints require …", "No double booking under any …",
        "at most one …"). A bare verb-phrase bullet ("Easily audit which clients …") binds too, but
        a design silent on it has a gap to fill rather than a defect; such silence is at most a
        recommendation."""
        text = _ADVERSARY.sub("", self.text)  # "the attacker must …" binds nobody
        return self.kind == "criterion" or bool(_STRONG_MODAL.search(text) or _OBLIGATION.search(text))

    @property
    def negative(self) -> bool:
        """Whether it forbids something ("must not", "shall never", "no ... may")."""
        return bool(re.search(r"\b(?:must|shall|should|may|will|can)\s+(?:not|never)\b|\bmustn't\b", self.text, re.I))


@dataclass
class _Statement:
    id: str | None
    text: str
    line: int
    section: str
    kind: RequirementKind = "statement"
    story: str | None = None  # the id of the story a criterion belongs to


def key_terms(text: str) -> tuple[str, ...]:
    """Code spans, endpoints, HTTP status codes, identifiers and named technologies in ``text``."""
    found: list[str] = []
    for pattern in (_CODE_SPAN, _ENDPOINT, _STATUS, _IDENTIFIER, _PROPER):
        for match in pattern.finditer(text):
            term = (match.group(1) if pattern is _CODE_SPAN else match.group(0)).strip()
            if len(term) > 2 and term.lower() not in STOP_WORDS and term.lower() not in (t.lower() for t in found):
                found.append(term)
    return tuple(found)


def make_requirement(
    rid: str, text: str, line: int, section: str, *, kind: RequirementKind = "statement", source: str = ""
) -> Requirement:
    """A requirement with its key terms and stems worked out from its text (for importers)."""
    text = _clean(text)
    return Requirement(rid, text, line, section, True, key_terms(text), tuple(content_stems(text)), kind, source)


def parse_requirements(text: str) -> list[Requirement]:
    """Every requirement statement of a markdown requirements document, in order."""
    every = list(blocks(text))
    roles = section_roles([b.path for b in every])
    reader = _Reader()
    for block, role in zip(every, roles, strict=True):
        reader.read(block, role)
    statements = reader.finish()
    formal = any(s.kind in ("statement", "row") for s in statements)
    return _with_ids([s for s in statements if not (formal and s.kind == "goal")])


def _with_ids(statements: list[_Statement]) -> list[Requirement]:
    taken = {s.id for s in statements if s.id}
    result: list[Requirement] = []
    counter = 0
    seen: set[str] = set()
    for s in statements:
        sid, explicit = s.id, s.id is not None
        if sid is None or sid in seen:
            counter += 1
            while f"R{counter}" in taken:
                counter += 1
            sid, explicit = f"R{counter}", False
        seen.add(sid)
        terms, stems = key_terms(s.text), tuple(content_stems(s.text))
        result.append(Requirement(sid, s.text, s.line, s.section, explicit, terms, stems, s.kind))
    return result


class _Reader:
    """Walks the blocks of a requirements document, keeping track of the story being read."""

    def __init__(self) -> None:
        self.found: list[_Statement] = []
        self.story: str | None = None
        self.story_level = 0
        self.story_heading = False  # the story's id came from a heading that its statement follows
        self.criteria: dict[str, int] = {}
        self.scenario: _Statement | None = None  # a Given/When/Then criterion spread over several items

    def read(self, block: Block, role: SectionRole) -> None:
        if block.kind == "heading":
            self._heading(block)
            return
        if role == "meta" or _conventions(block.text):
            return
        heading = block.path[-1] if block.path else ""
        if self.scenario is not None and block.kind in ("item", "sentence") and _STEP.match(block.text):
            self.scenario.text = _clean(self.scenario.text + " " + block.text)
            return
        self.scenario = None
        if block.kind in ("item", "sentence") and _SCENARIO_TITLE.match(block.text):
            return  # "Scenario: reorder within the window" names the criterion whose Given follows
        background = role in ("context", "risks", "alternatives") or bool(
            _REQUIREMENTS_CONTEXT.match(bare_heading(heading))
        )
        context = background or bool(_NON_GOAL.search(heading))
        soft = role == "goals" and bool(_SOFT_GOAL.search(bare_heading(heading))) and not _NON_GOAL.search(heading)
        for s in _statements(block, context, soft, background):
            self._add(s, block)

    def _heading(self, block: Block) -> None:
        self.scenario = None
        if self.story is not None and block.level <= self.story_level:
            self.story = None
        match = _LEADING_ID.match(block.text)
        if (
            match
            and _plausible_id(match)
            and (_STORY.match(block.text[match.end() :]) or re.match(r"US|STORY|UC", match.group(1), re.I))
        ):
            self.story, self.story_level, self.story_heading = match.group(1), block.level, True

    def _add(self, s: _Statement, block: Block) -> None:
        if s.kind == "story":
            if s.id is None and self.story_heading and self.story is not None:
                s.id = self.story  # "### US-04 — Submit a reading" then "As a customer, I want …"
            else:
                self.story, self.story_level = s.id or f"#{len(self.found)}", 99
            self.story_heading = False
        elif s.kind != "criterion" and s.id is not None:
            self.story = None  # "FR-2: …" after a story's criteria: that story has ended
        if s.kind == "criterion" and self.story is not None:
            s.story = self.story
            count = self.criteria[self.story] = self.criteria.get(self.story, 0) + 1
            if not self.story.startswith("#"):
                s.id = f"{self.story}/{s.id or f'AC{count}'}"
                if self.story not in s.section:
                    s.section = f"{s.section} › {self.story}" if s.section else self.story
        if s.kind == "criterion" and not _GWT.search(s.text) and _GIVEN.match(s.text):
            self.scenario = s
        self.found.append(s)

    def finish(self) -> list[_Statement]:
        """The statements; a story with acceptance criteria is traced through its criteria."""
        with_criteria = {s.story for s in self.found if s.kind == "criterion" and s.story}
        stories = {id(s): f"#{i}" for i, s in enumerate(self.found) if s.kind == "story"}
        return [
            s
            for s in self.found
            if not (s.kind == "story" and (s.id in with_criteria or stories.get(id(s)) in with_criteria))
        ]


def _statements(block: Block, context: bool, soft: bool, background: bool = False) -> list[_Statement]:
    """The requirement statements of one block (see the module docstring). In ``context`` only a
    strong modal binds; in ``background`` (motivation, risks: prose that describes) only "shall"."""
    section = " › ".join(block.path)
    heading = block.path[-1] if block.path else ""
    if block.kind == "row":
        return _row(block, section, context)
    if block.kind not in ("sentence", "item"):
        return []
    found: list[_Statement] = []
    for offset, raw in _lines_with_ids(block.text):
        number = block.line + block.text.count("\n", 0, offset) + 1
        line = _CID.sub("", raw)
        if _boilerplate(line) or describes_present(line):
            continue
        criterion = _CRITERION_ID.match(line)
        if criterion and (_GIVEN.match(line[criterion.end() :]) or _GWT.search(line)):
            found.append(_Statement(criterion.group(1), _clean(line[criterion.end() :]), number, section, "criterion"))
            continue
        match = _LEADING_ID.match(line)
        if match and _plausible_id(match) and not _looks_like_heading_number(line, match):
            body = _clean(line[match.end() :])
            if body and _binds(body, context, background) and not _WAIVER.search(body):
                shape = _shape(body)
                if shape == "statement" and soft and not _MODAL.search(body):
                    shape = "goal"  # "G-5: Meet our obligations …" under Goals
                found.append(_Statement(match.group(1), body, number, section, shape))
            continue
        every = block.kind == "item" and (bool(_LIST_HEADING.search(heading)) or len(block.path) <= 1)
        for sentence in _requirement_sentences(line, every or soft):
            at = line.find(sentence)
            number_here = number + (line.count("\n", 0, at) if at > 0 else 0)
            shape = _shape(sentence)
            if shape == "statement" and soft and not _MODAL.search(sentence):
                shape = "goal"
            if describes_present(sentence) or sentence.rstrip().endswith((":", "?")):
                continue  # "Today, head node failure is catastrophic", "The goals of this proposal:", a question
            if _binds(sentence, context and shape != "story", background) and not _WAIVER.search(sentence):
                found.append(_Statement(None, _clean(sentence), number_here, section, shape))
    return found


def _shape(text: str) -> RequirementKind:
    if _STORY.match(text):
        return "story"
    if _GIVEN.match(text) or _GWT.search(text):
        return "criterion"
    return "statement"


def _wordy(text: str) -> bool:
    """At least three tokens, two of them words of three letters or more ("X — X — X" is a table of ticks)."""
    found = tokens(text)
    return len(found) >= 3 and sum(len(t) >= 3 and t.isalpha() for t in found) >= 2


def _binds(text: str, context: bool, background: bool = False) -> bool:
    if background:
        return bool(re.search(r"\bshall\b", text, re.IGNORECASE))  # "Redis must be provisioned separately" describes
    return not context or bool(_STRONG_MODAL.search(text))


def _boilerplate(line: str) -> bool:
    """A table-of-contents line, a note, or the paragraph that defines the modal words."""
    linkless = _LINK.sub(lambda m: "" if m.group(0).startswith("!") or "](#" in m.group(0) else m.group(1), line)
    if not re.sub(r"[\W\d_]+", "", linkless) or _DOT_LEADER.search(line):
        return True
    if _ROMAN_PAGE.search(line) and not _MODAL.search(line):
        return True  # a table-of-contents line of a PDF: a title and its page number
    if not re.sub(r"[\W_]+", "", _LINK.sub("", line)):
        return True  # a line that is only a link: a reference, not a statement
    if _NOTE.match(line) and not _STRONG_MODAL.search(line):
        return True
    return _conventions(line)


def _conventions(text: str) -> bool:
    """Whether ``text`` defines how modal words are used (RFC 2119 style), rather than using them."""
    if _CONVENTIONS.search(text):
        return True
    words = {m.group(0).strip("\"“'‘*”’").lower() for m in _QUOTED_MODAL.finditer(text)}
    return len(words) >= 2 and bool(_DEFINES.search(text))


def _plausible_id(match: re.Match[str]) -> bool:
    """Whether a leading token is an id: a glued one ("FR01") must be followed by a delimiter or
    have two digits, and neither it nor a separated one may be a standard's or protocol's name
    ("HTTP2", "SHA256", "UTF-8")."""
    token, after = match.group(1), match.group(2)
    named = re.fullmatch(r"([A-Z]{2,6})[-_]\d+", token)  # "UTF-8 text …", "SHA-256 hashes …": a name, not an id
    if named is not None and named.group(1) in _NOT_IDS:
        return False
    glued = re.fullmatch(r"([A-Z]{2,6})(\d+)((?:\.\d+)*)(?:-\d+(?:\.\d+)*)?[a-z]?", token)
    if glued is None:
        return True
    if glued.group(1) in _NOT_IDS:
        return False
    return bool(after.strip()) or len(glued.group(2)) >= 2 or bool(glued.group(3))


def _lines_with_ids(text: str) -> list[tuple[int, str]]:
    """Split a block where a line starts with an id or a criterion; otherwise keep it whole."""
    lines = text.split("\n")

    def starts(line: str) -> bool:
        return bool(_LEADING_ID.match(line) or _CRITERION_ID.match(line))

    if len(lines) == 1 or not any(starts(line) for line in lines[1:]):
        return [(0, text)]
    result: list[tuple[int, str]] = []
    offset = 0
    for line in lines:
        if starts(line) or not result:
            result.append((offset, line))
        else:
            result[-1] = (result[-1][0], result[-1][1] + "\n" + line)
        offset += len(line) + 1
    return result


def _looks_like_heading_number(line: str, match: re.Match[str]) -> bool:
    """A bare ``1.2`` followed by a few words — a version, or a numbered title ("8.3 Individual Product
    Use Cases") — is not an id with a requirement."""
    if "." not in match.group(1) or not match.group(1)[0].isdigit():
        return False
    return len(tokens(line)) < 4 or _title_like(line[match.end() :])


def _title_like(text: str) -> bool:
    """A short title in Title Case with no modal verb: "Ease of Use Requirements"."""
    words = re.findall(r"[A-Za-z][\w'’-]*", text)
    capitals = sum(w[0].isupper() for w in words if len(w) > 3)
    long_words = sum(len(w) > 3 for w in words)
    return 0 < len(words) <= 10 and not _MODAL.search(text) and capitals >= max(1, long_words - 1)


def _requirement_sentences(text: str, every_item: bool) -> list[str]:
    if every_item:
        return [text] if len(tokens(text)) >= 3 else []
    sentences = re.split(r"(?<=[.!?])\s+(?=[A-Z(`*])", text)
    return [
        s
        for s in sentences
        if (_MODAL.search(_ADVERSARY.sub("", s)) or _STORY.match(s) or _GIVEN.match(s)) and len(tokens(s)) >= 4
    ]


# What an attacker "must" do is a threat model, not an obligation on the system: "the attacker must
# be sufficiently sophisticated to access private signing material".
_ADVERSARY = re.compile(
    r"\b(?:an? |the )?(?:attackers?|adversar(?:y|ies)|threat actors?|malicious (?:\w+ )?"
    r"(?:users?|actors?|part(?:y|ies)))\s+(?:would |will )?"
    r"(?:must|shall|should|needs? to|has to|have to|would have to)\b",
    re.IGNORECASE,
)


def _row(block: Block, section: str, context: bool) -> list[_Statement]:
    cells = [_CID.sub("", c).strip() for c in block.text.split(" | ")]
    if cells and _VERSION_CELL.match(cells[0].strip("*_ ")) and any(_DATE.search(c) for c in cells[1:]):
        return []  # a revision-history row: "1.2 | 2024-03-01 | J. Doe | Added FR-9"
    ids = [i for i, c in enumerate(cells) if _ROW_ID.match(c) and _glued_ok(c)]
    rest = [c for i, c in enumerate(cells) if i not in ids[:1] and c]
    body = _clean((" " if cut_sentence(rest) else " — ").join(rest))
    if not _wordy(body) or _boilerplate(body) or _WAIVER.search(body):
        return []
    if ids and cells[ids[0]].strip("*_ ")[:1].isdigit() and not _MODAL.search(body) and len(tokens(body)) < 8:
        return []  # "21.2 | Effects on the Installed Systems": a numbered heading in a table, not a requirement
    if body.rstrip().endswith((":", "?")):
        return []  # a lead-in or a question
    if ids:
        return [_Statement(_ROW_ID.match(cells[ids[0]]).group(1), body, block.line + 1, section, "row")]  # type: ignore[union-attr]
    leading = _LEADING_ID.match(cells[0]) if cells else None
    if leading and _plausible_id(leading) and not leading.group(1)[:1].isdigit():
        text = _clean(" — ".join([cells[0][leading.end() :], *cells[1:]]).strip(" —"))
        return [_Statement(leading.group(1), text, block.line + 1, section, "row")]  # "FR1.1. The system must …"
    if _MODAL.search(body) and _binds(body, context):
        return [_Statement(None, body, block.line + 1, section, "row")]
    return []


def _glued_ok(cell: str) -> bool:
    token = cell.strip("*_ ")
    glued = re.fullmatch(r"([A-Z]{2,6})\d+(?:\.\d+)*(?:-\d+(?:\.\d+)*)?[a-z]?", token)
    return glued is None or glued.group(1) not in _NOT_IDS


_CID = re.compile(r"\(cid:\d+\)\s*")  # a glyph a PDF's font does not map (a bullet, a dash): pdfminer's placeholder


def _clean(text: str) -> str:
    return " ".join(_CID.sub("", text).replace("**", "").replace("__", "").split())
