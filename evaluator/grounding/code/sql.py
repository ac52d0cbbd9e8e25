"""SQL in a design, read through sqlglot (PostgreSQL dialect), one statement at a time: tables, column
types, keys and indexes, UPDATE assignments, increments and predicates, SELECT filters and sort keys,
grants and upserts. A statement that does not parse is skipped, never guessed."""

from __future__ import annotations

import logging
import re
from typing import Literal

from evaluator.documents.passages import CodeBlock
from evaluator.grounding.code.facts import CodeFacts, Column, Grant, Key, Select, Update

# sqlglot warns on stderr when it falls back to an opaque command (CREATE POLICY, ALTER … ENABLE ROW
# LEVEL SECURITY): a statement it cannot read is skipped here, which is not the user's concern.
logging.getLogger("sqlglot").setLevel(logging.ERROR)

SQL_START = re.compile(r"^\s*(?:create|alter|update|insert|delete|select|grant|with)\b", re.IGNORECASE)


def _statements(block: CodeBlock) -> list[tuple[int, str]]:
    """(1-based line, source) of each statement: split at semicolons outside quotes and dollar quotes."""
    found: list[tuple[int, str]] = []
    start, quote = 0, ""
    source = block.text
    for i, char in enumerate(source):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == ";":
            found.append((start, source[start:i]))
            start = i + 1
    found.append((start, source[start:]))
    result = []
    for offset, statement in found:
        stripped = statement.strip()
        if not stripped:
            continue
        lead = offset + statement.index(stripped[0])
        result.append((block.line + source.count("\n", 0, lead), stripped))
    return result


def read_sql(block: CodeBlock, facts: CodeFacts) -> None:
    """Add the facts of every statement of ``block`` that parses to ``facts``."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import SqlglotError

    for line, statement in _statements(block):
        try:
            tree = sqlglot.parse_one(statement, read="postgres")
        except (SqlglotError, ValueError, RecursionError):
            continue  # a fragment that does not parse is skipped, never guessed
        if isinstance(tree, exp.Create):
            _create(tree, line, statement, facts)
        elif isinstance(tree, exp.Alter):
            _alter(tree, line, statement, facts)
        elif isinstance(tree, exp.Update):
            table = _table_name(tree.this)
            pairs = [e for e in tree.expressions if isinstance(e, exp.EQ)]
            assigned = tuple(_name(e.this) for e in pairs)
            increments = tuple(
                _name(e.this)
                for e in pairs
                if isinstance(e.expression, exp.Add | exp.Sub)
                and _name(e.this) in {_name(c) for c in e.expression.find_all(exp.Column)}
            )
            facts.updates.append(Update(table, assigned, _columns(tree.args.get("where")), line, statement, increments))
        elif isinstance(tree, exp.Select) and (source := tree.find(exp.From)) is not None:
            order = tree.args.get("order")
            ordered = tuple(_name(c) for o in (order.expressions if order else []) for c in o.find_all(exp.Column))
            facts.selects.append(
                Select(_table_name(source.this), _columns(tree.args.get("where")), ordered, line, statement)
            )
        elif isinstance(tree, exp.Grant):
            privileges = tuple(p.this.sql().upper() for p in tree.args.get("privileges") or [] if p.this)
            grantee = ", ".join(_name(p.this) for p in tree.args.get("principals") or [])
            facts.grants.append(Grant(privileges, _table_name(tree.args.get("securable")), grantee, line, statement))
        elif isinstance(tree, exp.Insert) and tree.args.get("conflict") is not None:
            facts.upserts.append(_table_name(tree.this))


def _create(tree: object, line: int, statement: str, facts: CodeFacts) -> None:
    from sqlglot import exp

    assert isinstance(tree, exp.Create)
    target = tree.this
    if isinstance(target, exp.Index):
        params = target.args.get("params")
        ordered = params.args.get("columns") or [] if params else []
        columns = tuple(_name(c) for o in ordered for c in o.find_all(exp.Column))
        unique = bool(tree.args.get("unique"))
        table = _table_name(target.args.get("table"))
        partial = params is not None and params.args.get("where") is not None
        facts.keys.append(Key(table, columns, "unique" if unique else "index", line, statement, partial))
        return
    if not isinstance(target, exp.Schema):
        return
    table = _table_name(target.this)
    for element in target.expressions:
        if isinstance(element, exp.ColumnDef):
            name = _name(element.this)
            kind = element.args.get("kind")
            where = _line_of(statement, name, line)
            text = statement.split("\n")[where - line].strip().rstrip(",")
            facts.columns.append(Column(table, name, kind.sql("postgres").lower() if kind else "", where, text))
            for constraint in element.args.get("constraints") or []:
                ckind = constraint.args.get("kind")
                if isinstance(ckind, exp.PrimaryKeyColumnConstraint):
                    facts.keys.append(Key(table, (name,), "primary", where, text))
                elif isinstance(ckind, exp.UniqueColumnConstraint):
                    facts.keys.append(Key(table, (name,), "unique", where, text))
        else:
            _table_constraint(table, element, line, statement, facts)


def _table_constraint(table: str, element: object, line: int, statement: str, facts: CodeFacts) -> None:
    from sqlglot import exp

    inner = element.expressions[0] if isinstance(element, exp.Constraint) and element.expressions else element
    if isinstance(inner, exp.PrimaryKey):
        columns = tuple(_name(e) for e in inner.expressions)
        kind: Literal["primary", "unique"] = "primary"
    elif isinstance(inner, exp.UniqueColumnConstraint) and isinstance(inner.this, exp.Schema):
        columns = tuple(_name(e) for e in inner.this.expressions)
        kind = "unique"
    else:
        return
    where = _line_of(statement, "unique" if kind == "unique" else "primary", line, columns)
    facts.keys.append(Key(table, columns, kind, where, statement.split("\n")[where - line].strip().rstrip(",")))


def _alter(tree: object, line: int, statement: str, facts: CodeFacts) -> None:
    from sqlglot import exp

    assert isinstance(tree, exp.Alter)
    table = _table_name(tree.this)
    for action in tree.args.get("actions") or []:
        for element in action.expressions if isinstance(action, exp.AddConstraint) else [action]:
            _table_constraint(table, element, line, statement, facts)
        if isinstance(action, exp.ColumnDef):
            kind = action.args.get("kind")
            facts.columns.append(
                Column(table, _name(action.this), kind.sql("postgres").lower() if kind else "", line, statement)
            )


def _columns(where: object) -> tuple[str, ...]:
    """The column names a WHERE clause (or None) tests, sorted."""
    from sqlglot import exp

    if where is None:
        return ()
    assert isinstance(where, exp.Expression)
    return tuple(sorted({_name(c) for c in where.find_all(exp.Column)}))


def _line_of(statement: str, word: str, first: int, also: tuple[str, ...] = ()) -> int:
    """The line of the statement where a column (or a constraint over ``also``) is declared."""
    for i, text in enumerate(statement.split("\n")):
        low = text.lower()
        if re.match(rf"\s*\"?{re.escape(word.lower())}\"?\b", low) or (
            word in ("unique", "primary") and word in low and all(c.lower() in low for c in also)
        ):
            return first + i
    return first


def _name(node: object) -> str:
    from sqlglot import exp

    if isinstance(node, exp.Column | exp.Identifier | exp.Table):
        return str(node.name).lower()
    return str(getattr(node, "name", "") or node).lower()


def _table_name(node: object) -> str:
    from sqlglot import exp

    if node is None:
        return ""
    table = node.this if isinstance(node, exp.Schema) else node
    return _name(table.this if isinstance(table, exp.Table) and not isinstance(table.this, exp.Identifier) else table)
