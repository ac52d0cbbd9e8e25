"""Deterministic rules that a check names: ``detector = "..."`` fails it, ``addressed_by = [...]`` passes it.

Each rule reads a :class:`~evaluator.grounding.subject.Subject` — the design's passages, the code
facts its parsers read (:mod:`evaluator.grounding.code`) and the requirements text — and
returns hits: the passage and the words that show what the rule found. The rules over code facts
live in :mod:`evaluator.grounding.code_rules`; :data:`DETECTORS` names them all. They look for shapes and code, not
wording: a personal-data field passed unmasked to a log call, a column of a field the
requirements want encrypted declared as plain text, a 200 where 202 is required, a dedup table
whose key makes redelivery harmless. Only passages that decide count (:mod:`evaluator.documents.roles`):
a log line quoted under *Current state* is today's problem, not the design's.

Profiles check the names a check gives against :data:`DETECTORS` when they are loaded.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import evaluator.grounding.code_rules as code_rules
from evaluator.documents.passages import Hit, Passage
from evaluator.documents.terms import HYPOTHETICAL, negated_before, stem
from evaluator.grounding.subject import Subject, unique

# Shapes of personal data. Card numbers are Luhn-checked; national ids: US SSN, Indian PAN,
# UK NINO; IBAN per ISO 13616 (country, check digits, 11–30 alphanumerics).
_PII_VALUES = {
    "e-mail address": re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.-]+\b"),
    "phone number": re.compile(r"(?<![\w-])\+\d{1,3}[\s-]?\d{2,4}[\s-]?\d{3,4}[\s-]?\d{3,4}\b"),
    "IBAN": re.compile(r"\b[A-Z]{2}\d{2}(?:\s?[A-Z0-9]{4}){2,7}(?:\s?[A-Z0-9]{1,4})?\b"),
    "national id": re.compile(r"\b\d{3}-\d{2}-\d{4}\b|\b[A-Z]{5}\d{4}[A-Z]\b|\b[A-Z]{2}\d{6}[A-D]\b"),
    "card number": re.compile(r"\b(?:\d[ -]?){13,19}\b"),
}
_PII_FIELDS = (
    r"(?:e-?mail|phone|mobile|msisdn|ssn|social_security|national_id|pan(?:_number)?|passport|iban|"
    r"card_number|cardnumber|pan_no|date_of_birth|dob|birth_date|first_name|last_name|full_name|"
    r"address|insurance_number|tax_id|income|salary)"
)
_PII_NAME = re.compile(rf"(?:^|_){_PII_FIELDS}(?:_|$)", re.IGNORECASE)
_LOG_CALL = re.compile(
    r"\b(?:log(?:ger)?|logging|structlog|print)\s*\.?\s*(?:debug|info|warning|warn|error|exception|critical|msg)?\s*\(",
    re.IGNORECASE,
)
_LOG_WORDS = re.compile(r"\b(?i:log(?:s|ged|ging)?|error message|exception)\b|\b(?:INFO|DEBUG|WARN|WARNING|ERROR)\b")
_MASKED = re.compile(
    r"mask|redact|hash|hmac|digest|tokeni[sz]|pseudonymi[sz]|anonymi[sz]|encrypt|obfuscat|last[ _-]?4|truncat|\*{3}",
    re.I,
)
_TEXT_TYPE = re.compile(r"^(?:text|varchar|character varying|char|string|citext|numeric|decimal|int|integer|bigint|"
                        r"date|str|unicode|unicodetext)\b", re.IGNORECASE)  # fmt: skip
_PROTECTED = re.compile(r"encrypt|bytea|_enc\b|cipher|hash|hmac|token|pgp_|kms|largebinary|binary", re.IGNORECASE)
_SAID_ENCRYPTED = re.compile(
    r"\b(?:envelope[- ]encrypt\w*|field[- ]level encrypt\w*|column[- ]level encrypt\w*|encrypt\w*\s+(?:with|using|by|"
    r"under)\s+(?:a |an |the )?(?:data key|dek|kms|aes|key|pgcrypto|vault|transit)|ciphertext|pgp_sym_encrypt|"
    r"encrypted (?:before|at the application|in the application|per field|per column))",
    re.IGNORECASE,
)
_METRIC_LABEL = re.compile(
    rf"\b\w+(?:_total|_count|_seconds|_bucket|_sum)?\s*\{{[^}}\n]*\b(?:{_PII_FIELDS}|\w*(?:patient|user|customer|"
    r"member|account|applicant)_?id)\b[^}\n]*\}|\blabels?\s*(?:=|\(|:)[^\n]{0,80}\b(?:\w*(?:patient|user|customer|"
    rf"applicant)_?id|{_PII_FIELDS})\b",
    re.IGNORECASE,
)
_EVENT_PII_NAMES = (
    r"(?:\w*_)?(?:e-?mail|phone|mobile|msisdn|address|date_of_birth|dob|full_name|first_name|last_name|"
    r"recipient_name|customer_name|patient_name|claimant_name|applicant_name|signer_name|ssn|pan_number|iban)"
)
# a payload key ("email": …, email=…) or an Avro/JSON-schema field declaration ({"name": "email", …})
_EVENT_PII_KEY = re.compile(
    rf"[\"']?{_EVENT_PII_NAMES}[\"']?\s*[:=]|[\"']name[\"']\s*:\s*[\"']{_EVENT_PII_NAMES}[\"']",
    re.IGNORECASE,
)
# Words of events and messages; an Avro record schema ("type": "record") is one too.
_EVENT_WORDS = re.compile(r"\bevents?\b|kafka|topic|payload|message|publish|produce|\"type\"\s*:\s*\"record\"", re.I)


def _search_hit(passage: Passage, pattern: re.Pattern[str]) -> Hit | None:
    match = pattern.search(passage.plain)
    return Hit(passage, match.start(), match.end()) if match else None


def _luhn(digits: str) -> bool:
    numbers = [int(d) for d in digits if d.isdigit()]
    checksum = sum(numbers[-1::-2]) + sum(sum(divmod(2 * d, 10)) for d in numbers[-2::-2])
    return 13 <= len(numbers) <= 19 and checksum % 10 == 0


def pii_value(text: str) -> str | None:
    """The kind of the first personal-data-shaped value in ``text``, if any."""
    found = _pii_match(text)
    return found[0] if found else None


def _pii_match(text: str) -> tuple[str, re.Match[str]] | None:
    """The kind and place of the first personal-data-shaped value (e-mail, phone, IBAN, national id, card)."""
    for kind, pattern in _PII_VALUES.items():
        for match in pattern.finditer(text):
            if kind == "card number" and not _luhn(match.group(0)):
                continue
            if kind == "e-mail address" and re.search(r"example\.(?:com|org)|@(?:company|corp)\b", match.group(0)):
                continue
            return kind, match
    return None


def pii_in_logs(s: Subject) -> list[Hit]:
    """Log calls, log examples and error messages that carry personal data unmasked.

    Python log calls are read from the code facts: a personal-data field, or a field the demanding
    requirement names in a sentence about logs ("the MPRN and account number never appear in logs"),
    counts unless passed through a masking, hashing or redacting function (``mask_pan(pan)``).
    Elsewhere (a JSON log line, a log format in prose), a personal-data value, or a field named in a
    log context that no masking word qualifies."""
    found: list[Hit] = []
    named = [x for x in re.split(r"(?<=[.;])\s+", s.focus) if re.search(r"\blog", x, re.IGNORECASE)]
    for call in s.facts.logs:
        leaked = [n for n in call.names if (_PII_NAME.search(n) or named_in(n, named)) and n not in call.masked]
        hit = s.at(call.line, leaked[0]) if leaked else None
        if hit is not None:
            found.append(hit)
    parsed = s.facts.python_lines
    for p in s.deciding():
        if p.kind == "heading" or any(a <= p.line_start and p.line_end <= b for a, b in parsed):
            continue  # Python code is judged by its parsed log calls above
        text = p.plain
        logging = _LOG_CALL.search(text) or (_LOG_WORDS.search(text) if p.kind in ("code", "row") else None)
        if logging is None:
            continue
        value = _pii_match(text)
        field = re.search(rf"(?<=[{{(=,\s.\"']){_PII_FIELDS}\b", text[logging.start() :], re.IGNORECASE)
        if value:
            found.append(Hit(p, value[1].start(), value[1].end()))
        elif field and not negated_before(text, logging.start()):
            start = logging.start() + field.start()
            if not _MASKED.search(text[max(0, start - 40) : start + len(field.group(0)) + 25]):
                found.append(Hit(p, start, start + len(field.group(0))))
    return unique(found)


def protected_fields(requirements: str) -> set[str]:
    """Words of the personal-data fields that the requirements want encrypted at field level.

    Read from the sentences that mention field- or column-level encryption, e.g. "the
    insurance number is additionally protected at field level" -> {"insurance"}.
    """
    words: set[str] = set()
    for sentence in _field_level_sentences(requirements):
        for match in re.finditer(_PII_FIELDS.replace("_", "[_ ]"), sentence, re.IGNORECASE):
            words.add(re.split(r"[_ ]", match.group(0).lower())[0])
    return words


_GENERIC_COLUMN_WORDS = frozenset(
    ["id", "no", "number", "num", "code", "value", "text", "data", "hash", "at", "date", "type", "status", "key", "ref"]
)


def _field_level_sentences(requirements: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.;])\s+", requirements) if _FIELD_LEVEL.search(s)]


# Requirement sentences that want fields unreadable in the database itself, not only on its disks.
_FIELD_LEVEL = re.compile(
    r"field[- ]level|column[- ]level|additionally (?:protected|encrypted)|(?:copy|dump|backup|snapshot) of the "
    r"database|encrypted (?:in|inside) the database|(?:readable|visible|revealed) (?:in|to|from) (?:a |the )?"
    r"(?:database|dump|backup)",
    re.IGNORECASE,
)


def _wanted(column: str, fields: set[str], sentences: list[str]) -> str | None:
    """The word by which the requirements want ``column`` encrypted: a personal-data field they name,
    or a field their sentences name (:func:`named_in`)."""
    word = next((w for w in fields if w in column.lower()), None)
    return word if word is not None else named_in(column, sentences)


def named_in(name: str, sentences: list[str]) -> str | None:
    """The first informative word of an identifier when requirement ``sentences`` name that field:
    its informative words as a phrase ("national_insurance_number" in "national insurance numbers"),
    or a one-word name as the sentence's acronym ("mprn" in "the MPRN"); None otherwise."""
    parts = [p for p in name.lower().split("_") if len(p) > 2 and p not in _GENERIC_COLUMN_WORDS]
    if not parts:
        return None
    phrase = [stem(p) for p in parts]
    for sentence in sentences:
        if len(parts) == 1:
            if re.search(rf"\b{re.escape(parts[0].upper())}s?\b", sentence):
                return parts[0]
            continue
        words = [stem(w) for w in re.findall(r"[a-z]+", sentence.lower())]
        if any(words[i : i + len(phrase)] == phrase for i in range(len(words))):
            return parts[0]
    return None


def pii_plaintext_columns(s: Subject) -> list[Hit]:
    """Columns (DDL or ORM) of the fields the requirements want encrypted, declared as plain text or
    numbers — unless the column's name or type says it holds ciphertext, or the design states that
    field is encrypted at the application (envelope encryption, a data key, pgcrypto). A column is
    wanted when the requirements name its field ("the IBAN … at field level") or every informative
    word of its name ("national_insurance_number" in "national insurance numbers are encrypted at
    field level")."""
    fields, sentences = protected_fields(s.requirements), _field_level_sentences(s.requirements)
    found: list[Hit] = []
    for column in s.facts.columns:
        if column.source == "model" or not _TEXT_TYPE.match(column.type) or _PROTECTED.search(column.text):
            continue
        word = _wanted(column.name, fields, sentences)
        if word is None or _said_encrypted(s, word):
            continue
        hit = s.at(column.line, column.text)
        if hit is not None:
            found.append(hit)
    return unique(found)


def _said_encrypted(s: Subject, word: str) -> bool:
    for p in s.deciding():
        text = p.plain
        if word in text.lower():
            match = _SAID_ENCRYPTED.search(text)
            if match and not negated_before(text, match.start()):
                return True
    return False


def pii_metric_labels(s: Subject) -> list[Hit]:
    """Metrics labelled with personal data or per-person ids (unbounded cardinality, PII in metrics)."""
    found = []
    for p in s.deciding():
        hit = _search_hit(p, _METRIC_LABEL)
        if hit and re.search(r"metric|prometheus|_total|label", p.plain, re.I):
            found.append(hit)
    return found


def pii_in_events(s: Subject) -> list[Hit]:
    """Event or message payloads (code) that carry contact details or other personal data."""
    found = []
    for p in s.deciding():
        if p.kind != "code" or re.search(r"log(?:ger|ging)?\.|print\(", p.text):
            continue
        hit = _search_hit(p, _EVENT_PII_KEY)
        if hit and _EVENT_WORDS.search(p.text + " " + p.section):
            found.append(hit)
    return found


def accepted_status(s: Subject) -> list[Hit]:
    """Where the requirements ask for 202 Accepted, deciding passages that answer with 200/201."""
    if not re.search(r"\b202\b", s.requirements) or any(re.search(r"\b202\b", p.plain) for p in s.deciding()):
        return []
    pattern = re.compile(r"\b20[01]\b(?!\s*(?:ms|s\b|req|/s|%|kb|mb|items|rows))", re.IGNORECASE)
    return [h for p in s.deciding() if p.kind != "heading" for h in [_search_hit(p, pattern)] if h]


# What another system offers is not our design: "the payment provider's API supports idempotency keys".
_THEIRS = re.compile(
    r"\b(?:provider|partner|vendor|third[- ]party|bureau|bank|PSP|gateway)\W?s?\b[^.;]{0,40}\b"
    r"(?:supports?|offers?|accepts?)\b",
    re.IGNORECASE,
)


def idempotency_without_unique(s: Subject) -> list[Hit]:
    """An idempotency key or dedup table that no unique constraint, primary key or upsert backs."""
    pattern = re.compile(r"idempot\w*[\s_-]*key|dedup\w*|processed_\w+", re.IGNORECASE)
    ours = [p for p in s.deciding() if not HYPOTHETICAL.search(p.plain) and not _THEIRS.search(p.plain)]
    mentions = [h for p in ours for h in [_search_hit(p, pattern)] if h]
    backed = re.compile(
        r"unique|primary key|on conflict|exclude using|insert[^.\n]*if not exists|setnx|\bset\b[^\n]*\bnx\b", re.I
    )
    if not mentions or code_rules.dedup_key(s) or any(backed.search(p.plain) for p in s.deciding()):
        return []
    return mentions[:1]


# A rule: what it reads -> where it found what it looks for
Detector = Callable[[Subject], list[Hit]]

DETECTORS: dict[str, Detector] = {
    **code_rules.RULES,
    "pii_in_logs": pii_in_logs,
    "pii_plaintext_columns": pii_plaintext_columns,
    "pii_metric_labels": pii_metric_labels,
    "pii_in_events": pii_in_events,
    "accepted_status": accepted_status,
    "idempotency_without_unique": idempotency_without_unique,
}
