"""Code in a design, read with real parsers: what its SQL, Python and configuration say.

Designs carry the decisions a reviewer cares most about in code: a money column declared
``DOUBLE PRECISION``, an ``UPDATE … WHERE id = :id`` with no version predicate, a unique
constraint on the wrong columns, a FastAPI route with an unbounded ``limit``, a password in a
values file. Regular expressions over one passage at a time cannot see these reliably; the
parsers can:

* SQL (fenced ``sql`` blocks, unlabelled blocks that parse as SQL, and inline code spans that
  start with a statement keyword) through **sqlglot**, PostgreSQL dialect, one statement at a
  time: tables and column types, primary keys, unique constraints and indexes, ``UPDATE``
  assignments (and increments) and ``WHERE`` columns, ``SELECT`` filters and sort keys, grants,
  ``INSERT … ON CONFLICT``;
* Python through the standard **ast**: SQL in its string literals (``conn.execute("UPDATE …")``),
  Pydantic and dataclass fields with their annotations,
  SQLAlchemy columns, FastAPI routes (method, path, status code, parameters and their bounds),
  log calls (which names they pass, and which of those go through a masking function);
* cache and Redis key templates (``portal:payslips:{employee_number}:{year}``) in code and inline
  code, with their fields;
* configuration (YAML, TOML, ``.env``, INI, JSON, Helm values), line by line: keys that name a
  secret with a literal value.

A statement or block that does not parse is skipped, never guessed. Every fact keeps its
1-based line in the design and the source text it came from, so a finding can quote it.
"""

from __future__ import annotations

import re

from evaluator.documents.passages import CodeBlock, code_blocks
from evaluator.grounding.code.config import read_config
from evaluator.grounding.code.facts import (
    CacheKey,
    CodeFacts,
    Column,
    Grant,
    Key,
    LogCall,
    Route,
    Secret,
    Select,
    Update,
)
from evaluator.grounding.code.python import read_python
from evaluator.grounding.code.sql import SQL_START, read_sql

__all__ = [
    "CacheKey",
    "CodeFacts",
    "Column",
    "Grant",
    "Key",
    "LogCall",
    "Route",
    "Secret",
    "Select",
    "Update",
    "read_code",
]

_PYTHON_START = re.compile(r"^\s*(?:def |async def |class \w+|import \w|from [\w.]+ import |@\w)", re.M)
_SQL_LANGUAGES = {"sql", "postgres", "postgresql", "psql", "plpgsql", "pgsql", "ddl"}
_PYTHON_LANGUAGES = {"python", "py", "python3", "pycon"}
_CONFIG_LANGUAGES = {"yaml", "yml", "toml", "ini", "env", "dotenv", "properties", "json", "conf", "cfg", "helm", ""}
# A key template: words joined by colons with at least one {field}, e.g. "portal:payslips:{employee_number}:{year}";
# a two-part one ("report:{report_id}") only on a line that speaks of a key or a cache.
_CACHE_KEY = re.compile(r"(?<![\w/{])[a-z][\w.-]*(?::(?:[\w.-]+|\{[\w.\[\]'\"!:]+\})){1,}(?![\w}])", re.IGNORECASE)
_INLINE_SQL = re.compile(r"`((?:CREATE|ALTER|UPDATE|INSERT|DELETE|SELECT|GRANT)\b[^`\n]{8,})`", re.IGNORECASE)


def read_code(text: str) -> CodeFacts:
    """The facts of every code block and inline SQL span of a markdown design."""
    facts = CodeFacts()
    blocks = code_blocks(text)
    for block in blocks:
        language = block.language
        python = language in _PYTHON_LANGUAGES or (not language and _PYTHON_START.match(block.text) is not None)
        if language in _SQL_LANGUAGES or (not language and SQL_START.match(block.text)):
            read_sql(block, facts)
        elif python:
            read_python(block, facts)  # converted documents lose the language: "def …" is Python
        if language in _CONFIG_LANGUAGES or python:
            read_config(block, facts, python=python)
    for number, line in enumerate(text.split("\n"), 1):
        for match in _INLINE_SQL.finditer(line):
            read_sql(CodeBlock("sql", match.group(1), number), facts)
        in_code = any(b.line <= number < b.line + b.text.count("\n") + 1 for b in blocks)
        for match in _CACHE_KEY.finditer(line):
            speaks_of_keys = "key" in line.lower() or "cache" in line.lower()
            if "{" not in match.group(0) or (match.group(0).count(":") < 2 and not speaks_of_keys):
                continue
            if in_code or f"`{match.group(0)}" in line or speaks_of_keys:
                found = re.findall(r"\{[^{}]+\}", match.group(0))
                fields = tuple(f.strip("{} ").split(".")[-1].split("!")[0] for f in found)
                facts.cache_keys.append(CacheKey(match.group(0), fields, number, line.strip()))
    return facts
