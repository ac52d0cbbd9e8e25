"""What the parsers read from a design's code: the facts, one small type each, with the 1-based line
of the design they come from and the source text that a finding can quote."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

FactSource = Literal["sql", "orm", "model"]


@dataclass(frozen=True)
class Column:
    """A column or model field: table (or model) name, column name, declared type (lowercase SQL
    type or Python annotation), where it was declared, and by what (DDL, ORM model, Pydantic model)."""

    table: str
    name: str
    type: str
    line: int
    text: str
    source: FactSource = "sql"


@dataclass(frozen=True)
class Key:
    """A primary key, unique constraint or index over ``columns`` of ``table``; ``partial`` when
    it has a ``WHERE`` clause (it holds only for some rows)."""

    table: str
    columns: tuple[str, ...]
    kind: Literal["primary", "unique", "index"]
    line: int
    text: str
    partial: bool = False


@dataclass(frozen=True)
class Update:
    """An ``UPDATE``: the columns it assigns, those it increments from their own value
    (``balance = balance + :amount``: not idempotent), and the columns its ``WHERE`` clause tests."""

    table: str
    assigned: tuple[str, ...]
    predicate: tuple[str, ...]
    line: int
    text: str
    increments: tuple[str, ...] = ()


@dataclass(frozen=True)
class Select:
    """A ``SELECT``: the table of its ``FROM``, the columns its ``WHERE`` tests and those it orders by."""

    table: str
    predicate: tuple[str, ...]
    order: tuple[str, ...]
    line: int
    text: str


@dataclass(frozen=True)
class CacheKey:
    """A cache or Redis key template (``portal:payslips:{employee_number}:{year}``) and its fields."""

    template: str
    fields: tuple[str, ...]
    line: int
    text: str


@dataclass(frozen=True)
class Grant:
    """A ``GRANT`` of privileges (uppercase) on a table to a role."""

    privileges: tuple[str, ...]
    table: str
    grantee: str
    line: int
    text: str


@dataclass(frozen=True)
class Route:
    """A FastAPI route: method, path, declared status code, and its parameters as
    ``(name, annotation, default source)``; ``bounded`` names the parameters with an upper bound."""

    method: str
    path: str
    status_code: int | None
    params: tuple[tuple[str, str, str], ...]
    bounded: tuple[str, ...]
    line: int
    text: str
    returns: str = ""  # the return annotation or response_model, e.g. "list[PayslipOut]"


@dataclass(frozen=True)
class LogCall:
    """A logging call: the names (variables, attributes, keys) it passes, and those it passes
    through a masking, redacting or hashing function."""

    names: tuple[str, ...]
    masked: tuple[str, ...]
    line: int
    text: str


@dataclass(frozen=True)
class Secret:
    """A configuration key that names a secret, set to a literal value in the design."""

    key: str
    line: int
    text: str


@dataclass
class CodeFacts:
    """Everything the parsers read from one design."""

    columns: list[Column] = field(default_factory=list)
    keys: list[Key] = field(default_factory=list)
    updates: list[Update] = field(default_factory=list)
    selects: list[Select] = field(default_factory=list)
    cache_keys: list[CacheKey] = field(default_factory=list)
    grants: list[Grant] = field(default_factory=list)
    upserts: list[str] = field(default_factory=list)  # tables written with INSERT … ON CONFLICT
    routes: list[Route] = field(default_factory=list)
    logs: list[LogCall] = field(default_factory=list)
    secrets: list[Secret] = field(default_factory=list)
    python_lines: list[tuple[int, int]] = field(default_factory=list)  # line spans of Python blocks that parsed

    def unique_keys(self, table: str) -> list[Key]:
        """Primary keys and unique constraints or indexes of ``table`` (full ones, not partial)."""
        return [k for k in self.keys if k.table == table and k.kind != "index" and not k.partial]
