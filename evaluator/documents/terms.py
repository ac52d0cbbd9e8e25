"""Words as the retrieval sees them: tokens, stems, stop words and negation.

Pure functions over text. Stemming is Snowball English (PyStemmer), so "retries",
"retrying" and "retry" meet; identifiers such as ``pan_number``, ``enable.auto.commit`` or
``/v1/appointments`` stay whole tokens.
"""

from __future__ import annotations

import re
import threading
from typing import Any

_TOKEN = re.compile(r"/?[a-z0-9]+(?:[_./-][a-z0-9]+)*", re.IGNORECASE)

# English function words plus the boilerplate every requirement shares ("the system shall").
STOP_WORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "also",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "either",
        "etc",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "let",
        "may",
        "me",
        "might",
        "more",
        "most",
        "much",
        "must",
        "my",
        "need",
        "needs",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "out",
        "over",
        "own",
        "per",
        "same",
        "shall",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "upon",
        "us",
        "very",
        "via",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "within",
        "without",
        "would",
        "you",
        "your",
        "e.g",
        "i.e",
        "eg",
        "ie",
        "able",
        "allow",
        "allows",
        "use",
        "used",
        "using",
        "uses",
        "given",
        "every",
        "one",
        "two",
        "three",
        "new",
        "system",
        "systems",
        "service",
        "services",
        "application",
        "applications",
        "user",
        "users",
        "support",
        "supports",
        "provide",
        "provides",
        "ensure",
        "ensures",
        "make",
        "makes",
        "made",
        "well",
        "least",
        "time",
        "times",
        "way",
        "required",
        "require",
        "requires",
        "requirement",
        "requirements",
    ]
)

# Cues that a statement decides against, defers or denies what follows (within a few words).
NEGATION = re.compile(
    r"\b(?:not|never|no|none|nothing|nobody|without|neither|nor|cannot|can't|won't|don't|doesn't|isn't|aren't|didn't|"
    r"wasn't|weren't|shouldn't|lacks?|lacking|absent|omit(?:s|ted)?|skip(?:s|ped)?|instead of|rather than|"
    r"out of scope|deferred|postponed)\b",
    re.IGNORECASE,
)

# Weighed or put off, not decided: "would keep", "will be defined later", "to be decided", "TBD".
HYPOTHETICAL = re.compile(
    r"\b(?:would|could|might)\b(?! (?:not|never))|\bwhether\b|\?(?:\s|$)|"
    r"\bwill be (?:defined|decided|specified|designed|agreed|added|written)\b[^.;]{0,30}\b"
    r"(?:later|follow-up|future|next|once|when|after)|\bwill be (?:agreed|decided|determined|settled)\b|"
    r"\b(?:is|are) (?:still )?an open question\b|\bopen questions?\b|\bto be settled\b|"
    r"\bstill (?:determining|deciding|discussing|evaluating)\b|"
    r"\bto be (?:defined|decided|determined|agreed|confirmed)\b|\b(?:TBD|TBC|TODO)\b|"
    r"\bnot yet (?:defined|decided|designed|specified|chosen)\b|\b(?:is|are) still (?:open|under discussion)\b",
    re.IGNORECASE,
)

# Words that distance a statement from what it names: it is weighed, rejected or guarded
# against, not decided ("we rejected retrying forever", "we considered a unique index").
DISTANCING = re.compile(
    r"\b(?:reject(?:s|ed)?|avoid(?:s|ed|ing)?|prevent(?:s|ed|ing)?|instead of|rather than|alternatives?|"
    r"considered|looked at|evaluated|thought about|mitigat\w*|guard(?:s|ed)? against|protects? against)\b",
    re.IGNORECASE,
)


_PER_THREAD = threading.local()


def _stemmer() -> Any:
    """A Snowball stemmer, one per thread: PyStemmer's objects are not thread-safe (its docs)."""
    stemmer = getattr(_PER_THREAD, "stemmer", None)
    if stemmer is None:
        import Stemmer

        stemmer = _PER_THREAD.stemmer = Stemmer.Stemmer("english")
    return stemmer


def tokens(text: str) -> list[str]:
    """Lowercased word and identifier tokens, in order."""
    return [t.lower().strip("./-") or t.lower() for t in _TOKEN.findall(text)]


def stem(word: str) -> str:
    """The Snowball stem of one lowercased token (identifiers are kept as they are)."""
    if not word.isalpha():
        return word
    return str(_stemmer().stemWord(word))


def content_stems(text: str) -> list[str]:
    """Stems of the tokens that carry meaning: no stop words, no one-letter tokens.

    An identifier also gives the stems of its parts, so ``date_of_birth`` meets "date of birth".
    """
    stems = []
    for t in tokens(text):
        if t in STOP_WORDS or len(t) < 2:
            continue
        stems.append(stem(t))
        if not t.isalnum():
            stems += [stem(part) for part in re.split(r"[_./-]+", t) if part not in STOP_WORDS and len(part) > 1]
    return stems


# A condition's antecedent up to its comma: a negation inside it does not reach past it.
_ANTECEDENT = re.compile(r"\b(?:if|when|whenever|unless|once)\b[^,.;]*,\s", re.IGNORECASE)


def negated_before(text: str, start: int, window: int = 6) -> bool:
    """Whether a negation cue occurs within ``window`` words before ``start`` in the same clause."""
    clause_start = max(text.rfind(sep, 0, start) for sep in (". ", ";", ":", "\n", "—", "(", "|")) + 1
    for antecedent in _ANTECEDENT.finditer(text, clause_start, start):  # "if a message cannot be processed, it …"
        clause_start = antecedent.end()
    before = text[clause_start:start].split()[-window:]
    return bool(NEGATION.search(" ".join(before)))
