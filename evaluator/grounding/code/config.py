"""Configuration in a design (YAML, TOML, .env, INI, JSON, Helm values, Python constants), line by
line: keys that name a secret set to a literal value, and URLs with credentials in them."""

from __future__ import annotations

import re

from evaluator.documents.passages import CodeBlock
from evaluator.grounding.code.facts import CodeFacts, Secret

_SECRET_KEY = re.compile(
    r"^\s*(?:-\s*)?[\"']?([\w.-]*?(?:password|passwd|pwd|secret|api[_-]?key|apikey|access[_-]?key|private[_-]?key|"
    r"client[_-]?secret|auth[_-]?token|token|signing[_-]?key|credentials?)[\w.-]*)[\"']?\s*[:=]\s*(.+?)\s*,?\s*$",
    re.IGNORECASE,
)
# A key that names where a secret is, not the secret: secretKey, secret_name, passwordFile, tokenPath, credentialsId,
# and where it comes from: envFromSecret, existingSecret (Helm charts), externalSecret, fromSecret.
_REFERENCE_KEY = re.compile(
    r"(?:password|passwd|pwd|secret|token|credentials?)[_.-]?(?:name|ref|key|path|file|id|store|env|var|field|property)s?$"
    r"|(?:from|existing|external)[_.-]?(?:secrets?|passwords?|tokens?|credentials?)$",
    re.IGNORECASE,
)
_CREDENTIALS_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s:/@]+:([^\s@/]+)@", re.IGNORECASE)
_PLACEHOLDER = re.compile(
    r"^[\"']?(?:\$\{|\$\(|\{\{|<|%\(|\$[A-Z_]|env:|vault:|secret:|ENC\[|arn:|\*{3}|x{3,}|\.\.\.|"
    r"(?:redacted|changeme|change_me|your[-_]|example|placeholder|dummy|none|null|true|false|~)\b|os\.environ|"
    r"getenv|settings\.|config\.|secrets\.|valueFrom|secretKeyRef)|^[\"']{2}$|^[\[{]$",
    re.IGNORECASE,
)


def read_config(block: CodeBlock, facts: CodeFacts, *, python: bool = False) -> None:
    for i, line in enumerate(block.text.split("\n")):
        match = _SECRET_KEY.match(line)
        value = match.group(2).split(" #")[0].strip() if match else ""
        secret = match is not None and not _REFERENCE_KEY.search(match.group(1)) and _literal_secret(value, python)
        url = _CREDENTIALS_URL.search(line)
        if secret or (url and not _PLACEHOLDER.match(url.group(1))):
            facts.secrets.append(Secret(match.group(1) if secret and match else "url credentials", block.line + i,
                                        line.strip()))  # fmt: skip


def _literal_secret(value: str, quoted_only: bool = False) -> bool:
    """A literal, non-placeholder value of at least 6 characters: not a key's own name or a secret's
    field name ("property: password"), a number, a
    type or an expression (``Annotated[str, Field(…)]``); in Python only a quoted string."""
    bare = value.strip("\"'")
    if quoted_only and not re.fullmatch(r"([\"']).+\1", value.strip()):
        return False
    if len(bare) < 6 or _PLACEHOLDER.match(value) or _PLACEHOLDER.match(bare) or bare.isdigit():
        return False
    if re.fullmatch(r"(?:db[_-]?)?(?:password|passwd|secret|token|api[_-]?key|credentials?)", bare, re.IGNORECASE):
        return False
    if not re.fullmatch(r"([\"']).+\1", value.strip()) and re.search(r"[\[\](){}]", bare):
        return False
    return not re.fullmatch(r"[A-Za-z_][\w.]*\(.*\)|[A-Z_][A-Z0-9_]*", bare)  # a call or a constant's name
