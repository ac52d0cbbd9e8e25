"""Deterministic detectors that a check names with ``detector = "..."``.

Each takes what it reads — the design's passages, the requirements text and the design
text — and returns the design passages that break the check. They look for shapes, not
wording: a value that looks like personal data in a log line, a personal-data column
declared as plain text, a 200/201 where 202 is required. Profiles check the names a check
gives against :data:`DETECTORS` when they are loaded.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from evaluator.documents.terms import negated_before

if TYPE_CHECKING:  # annotations only: profiles validate detector names at start-up, without the parsers
    from evaluator.documents.passages import Passage

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
_LOG_CALL = re.compile(
    r"\b(?:log(?:ger)?|logging|structlog|print)\s*\.?\s*(?:debug|info|warning|warn|error|exception|critical|msg)?\s*\(",
    re.IGNORECASE,
)
_LOG_WORDS = re.compile(r"\b(?i:log(?:s|ged|ging)?|error message|exception)\b|\b(?:INFO|DEBUG|WARN|WARNING|ERROR)\b")
_COLUMN = re.compile(
    rf"^\s*\"?(\w*{_PII_FIELDS}\w*)\"?\s+(?:text|varchar|character varying|char|string|citext|numeric|"
    r"decimal|integer|bigint|int|date)\b",
    re.IGNORECASE,
)
_PROTECTED = re.compile(r"encrypt|bytea|_enc\b|cipher|hash|hmac|token|pgp_|kms", re.IGNORECASE)
_METRIC_LABEL = re.compile(
    rf"\b\w+(?:_total|_count|_seconds|_bucket|_sum)?\s*\{{[^}}\n]*\b(?:{_PII_FIELDS}|\w*(?:patient|user|customer|"
    r"member|account|applicant)_?id)\b[^}\n]*\}|\blabels?\s*(?:=|\(|:)[^\n]{0,80}\b(?:\w*(?:patient|user|customer|"
    rf"applicant)_?id|{_PII_FIELDS})\b",
    re.IGNORECASE,
)


def _luhn(digits: str) -> bool:
    numbers = [int(d) for d in digits if d.isdigit()]
    checksum = sum(numbers[-1::-2]) + sum(sum(divmod(2 * d, 10)) for d in numbers[-2::-2])
    return 13 <= len(numbers) <= 19 and checksum % 10 == 0


def pii_value(text: str) -> str | None:
    """The kind of the first personal-data-shaped value in ``text``, if any."""
    for kind, pattern in _PII_VALUES.items():
        for match in pattern.finditer(text):
            if kind == "card number" and not _luhn(match.group(0)):
                continue
            if kind == "e-mail address" and re.search(r"example\.(?:com|org)|@(?:company|corp)\b", match.group(0)):
                continue
            return kind
    return None


def pii_in_logs(passages: list[Passage], requirements: str, design: str) -> list[Passage]:
    """Log lines, log examples and error messages carrying personal data (a value or a field)."""
    found = []
    for p in passages:
        logging = _LOG_CALL.search(p.text) or (_LOG_WORDS.search(p.text) if p.kind in ("code", "row") else None)
        if logging is None:
            continue
        field = re.search(rf"[{{(=,\s.\"']{_PII_FIELDS}\b", p.text[logging.start() :], re.IGNORECASE)
        if pii_value(p.text) or (field and not negated_before(p.text, logging.start())):
            found.append(p)
    return found


def protected_fields(requirements: str) -> set[str]:
    """Words of the personal-data fields that the requirements want encrypted at field level.

    Read from the sentences that mention field- or column-level encryption, e.g. "the
    insurance number is additionally protected at field level" -> {"insurance"}.
    """
    words: set[str] = set()
    for sentence in re.split(r"(?<=[.;])\s+", requirements):
        if re.search(r"field[- ]level|column[- ]level|additionally (?:protected|encrypted)", sentence, re.I):
            for match in re.finditer(_PII_FIELDS.replace("_", "[_ ]"), sentence, re.IGNORECASE):
                words.add(re.split(r"[_ ]", match.group(0).lower())[0])
    return words


def pii_plaintext_columns(passages: list[Passage], requirements: str, design: str) -> list[Passage]:
    """Columns of the fields the requirements want encrypted, declared as plain text or numbers."""
    wanted = protected_fields(requirements)
    found = []
    for p in passages:
        if p.kind != "code":
            continue
        for line in p.text.splitlines():
            match = _COLUMN.match(line)
            if match and not _PROTECTED.search(line) and any(w in match.group(1).lower() for w in wanted):
                found.append(p)
                break
    return found


def pii_metric_labels(passages: list[Passage], requirements: str, design: str) -> list[Passage]:
    """Metrics labelled with personal data or per-person ids (unbounded cardinality, PII in metrics)."""
    return [
        p
        for p in passages
        if _METRIC_LABEL.search(p.text) and re.search(r"metric|prometheus|_total|label", p.text, re.I)
    ]


_EVENT_PII_KEY = re.compile(
    r"[\"']?(?:\w*_)?(?:e-?mail|phone|mobile|msisdn|address|date_of_birth|dob|full_name|first_name|last_name|"
    r"recipient_name|customer_name|patient_name|claimant_name|applicant_name|signer_name|ssn|pan_number|iban)"
    r"[\"']?\s*[:=]",
    re.IGNORECASE,
)
_EVENT_WORDS = re.compile(r"\bevents?\b|kafka|topic|payload|message|publish|produce", re.IGNORECASE)


def pii_in_events(passages: list[Passage], requirements: str, design: str) -> list[Passage]:
    """Event or message payloads (code) that carry contact details or other personal data."""
    return [
        p
        for p in passages
        if p.kind == "code"
        and _EVENT_PII_KEY.search(p.text)
        and _EVENT_WORDS.search(p.text + " " + p.section)
        and not re.search(r"log(?:ger|ging)?\.|print\(", p.text)
    ]


def accepted_status(passages: list[Passage], requirements: str, design: str) -> list[Passage]:
    """Where the requirements ask for 202 Accepted, passages answering the submission with 200/201."""
    if not re.search(r"\b202\b", requirements) or re.search(r"\b202\b", design):
        return []
    return [p for p in passages if re.search(r"\b20[01]\b(?!\s*(?:ms|s\b|req|/s|%))", p.text) and p.kind != "heading"]


def idempotency_without_unique(passages: list[Passage], requirements: str, design: str) -> list[Passage]:
    """An idempotency key or dedup table that no unique constraint, primary key or upsert backs."""
    mentions = [p for p in passages if re.search(r"idempot\w*[\s_-]*key|dedup\w*|processed_\w+", p.text, re.I)]
    backed = re.search(
        r"unique|primary key|on conflict|exclude using|insert[^.\n]*if not exists|setnx|\bset\b[^\n]*\bnx\b",
        design,
        re.IGNORECASE,
    )
    return [] if not mentions or backed else mentions[:1]


# (the design's passages, the requirements text, the design text) -> the passages that break the check
Detector = Callable[[list["Passage"], str, str], list["Passage"]]

DETECTORS: dict[str, Detector] = {
    "pii_in_logs": pii_in_logs,
    "pii_plaintext_columns": pii_plaintext_columns,
    "pii_metric_labels": pii_metric_labels,
    "pii_in_events": pii_in_events,
    "accepted_status": accepted_status,
    "idempotency_without_unique": idempotency_without_unique,
}
