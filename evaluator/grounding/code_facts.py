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

import ast
import re
from dataclasses import dataclass, field
from typing import Literal

from evaluator.documents.passages import CodeBlock, code_blocks

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


_PYTHON_START = re.compile(r"^\s*(?:def |async def |class \w+|import \w|from [\w.]+ import |@\w)", re.M)
_SQL_START = re.compile(r"^\s*(?:create|alter|update|insert|delete|select|grant|with)\b", re.IGNORECASE)
_SQL_LANGUAGES = {"sql", "postgres", "postgresql", "psql", "plpgsql", "pgsql", "ddl"}
_PYTHON_LANGUAGES = {"python", "py", "python3", "pycon"}
_CONFIG_LANGUAGES = {"yaml", "yml", "toml", "ini", "env", "dotenv", "properties", "json", "conf", "cfg", "helm", ""}
# A key template: words joined by colons with at least one {field}, e.g. "portal:payslips:{employee_number}:{year}".
_CACHE_KEY = re.compile(r"(?<![\w/{])[a-z][\w.-]*(?::(?:[\w.-]+|\{[\w.\[\]'\"!:]+\})){2,}(?![\w}])", re.IGNORECASE)
_INLINE_SQL = re.compile(r"`((?:CREATE|ALTER|UPDATE|INSERT|DELETE|SELECT|GRANT)\b[^`\n]{8,})`", re.IGNORECASE)


def read_code(text: str) -> CodeFacts:
    """The facts of every code block and inline SQL span of a markdown design."""
    facts = CodeFacts()
    blocks = code_blocks(text)
    for block in blocks:
        language = block.language
        python = language in _PYTHON_LANGUAGES or (not language and _PYTHON_START.match(block.text) is not None)
        if language in _SQL_LANGUAGES or (not language and _SQL_START.match(block.text)):
            _read_sql(block, facts)
        elif python:
            _read_python(block, facts)  # converted documents lose the language: "def …" is Python
        if language in _CONFIG_LANGUAGES or python:
            _read_config(block, facts, python=python)
    for number, line in enumerate(text.split("\n"), 1):
        for match in _INLINE_SQL.finditer(line):
            _read_sql(CodeBlock("sql", match.group(1), number), facts)
        in_code = any(b.line <= number < b.line + b.text.count("\n") + 1 for b in blocks)
        for match in _CACHE_KEY.finditer(line):
            if "{" not in match.group(0):
                continue
            if in_code or f"`{match.group(0)}" in line or "key" in line.lower() or "cache" in line.lower():
                found = re.findall(r"\{[^{}]+\}", match.group(0))
                fields = tuple(f.strip("{} ").split(".")[-1].split("!")[0] for f in found)
                facts.cache_keys.append(CacheKey(match.group(0), fields, number, line.strip()))
    return facts


# --- SQL -------------------------------------------------------------------------------------


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


def _read_sql(block: CodeBlock, facts: CodeFacts) -> None:
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
        elif isinstance(tree, exp.Select) and tree.find(exp.From) is not None:
            source = tree.find(exp.From)
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


# --- Python ----------------------------------------------------------------------------------

_ROUTE_METHODS = {"get", "post", "put", "patch", "delete"}
_LOG_OBJECTS = re.compile(r"^(?:log|logger|logging|_log|_logger|structlog|audit_log|log\w*|\w*logger)$", re.I)
_LOG_METHODS = {"debug", "info", "warning", "warn", "error", "exception", "critical", "msg", "log"}
_MASKING = re.compile(r"mask|redact|hash|hmac|digest|tokeni[sz]e|pseudonymi[sz]e|anonymi[sz]e|encrypt|obfuscate|last4")


def _read_python(block: CodeBlock, facts: CodeFacts) -> None:
    try:
        tree = ast.parse(block.text)
    except (SyntaxError, ValueError):
        return
    lines = block.text.split("\n")
    facts.python_lines.append((block.line, block.line + len(lines) - 1))

    def at(node: ast.AST) -> tuple[int, str]:
        number = getattr(node, "lineno", 1)
        return block.line + number - 1, lines[number - 1].strip() if number - 1 < len(lines) else ""

    for node in ast.walk(tree):
        sql = _string_of(node)
        if sql is not None and _SQL_START.match(sql):
            _read_sql(CodeBlock("sql", sql, block.line + node.lineno - 1), facts)  # SQL in a Python string
        if isinstance(node, ast.ClassDef):
            _class(node, at, facts)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            _route(node, at, facts)
        elif isinstance(node, ast.Call) and _is_log_call(node):
            names, masked = _log_names(node)
            facts.logs.append(LogCall(tuple(names), tuple(masked), *at(node)))


def _string_of(node: ast.AST) -> str | None:
    """A string literal's text; an f-string's with each ``{…}`` as the identifier ``x`` (so that
    ``f"SELECT {cols} FROM t WHERE a = $1"`` still parses); None for anything else."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) and isinstance(v.value, str) else "x" for v in node.values)
    return None


def _class(node: ast.ClassDef, at: object, facts: CodeFacts) -> None:
    """Pydantic/dataclass fields, and SQLAlchemy columns of a mapped class."""
    table = node.name
    mapped = False
    for statement in node.body:
        if isinstance(statement, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__tablename__" for t in statement.targets
        ):
            mapped = True
            if isinstance(statement.value, ast.Constant) and isinstance(statement.value.value, str):
                table = statement.value.value
    for statement in node.body:
        line, text = at(statement)  # type: ignore[operator]
        if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
            annotation = ast.unparse(statement.annotation)
            value = ast.unparse(statement.value) if statement.value is not None else ""
            kind = _orm_type(value) or annotation
            source: FactSource = "orm" if mapped else "model"
            facts.columns.append(Column(str(table).lower(), statement.target.id, kind.lower(), line, text, source))
        elif mapped and isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Call):
            kind = _orm_type(ast.unparse(statement.value))
            for target in statement.targets:
                if kind and isinstance(target, ast.Name):
                    facts.columns.append(Column(str(table).lower(), target.id, kind.lower(), line, text, "orm"))


def _orm_type(call: str) -> str:
    """``Column(Numeric(12, 2), nullable=False)`` -> ``numeric(12, 2)``; "" when not a column."""
    match = re.match(r"(?:sa\.)?(?:Column|mapped_column)\(\s*(?:sa\.)?([A-Za-z]\w*(?:\([^)]*\))?)", call)
    return match.group(1) if match and match.group(1) not in ("ForeignKey",) else ""


def _route(node: ast.FunctionDef | ast.AsyncFunctionDef, at: object, facts: CodeFacts) -> None:
    for decorator in node.decorator_list:
        if not (isinstance(decorator, ast.Call) and isinstance(decorator.func, ast.Attribute)):
            continue
        method = decorator.func.attr.lower()
        if method not in _ROUTE_METHODS or not decorator.args or not isinstance(decorator.args[0], ast.Constant):
            continue
        status = next(
            (k.value.value for k in decorator.keywords if k.arg == "status_code" and isinstance(k.value, ast.Constant)),
            None,
        )
        args = node.args.args + node.args.kwonlyargs
        defaults = [None] * (len(node.args.args) - len(node.args.defaults)) + node.args.defaults
        defaults += node.args.kw_defaults
        params = []
        bounded = []
        for arg, default in zip(args, defaults, strict=False):
            annotation = ast.unparse(arg.annotation) if arg.annotation else ""
            source = ast.unparse(default) if default is not None else ""
            params.append((arg.arg, annotation, source))
            if re.search(r"\ble\s*=|\blt\s*=|conint\(|Le\(|Lt\(|max_length", annotation + " " + source):
                bounded.append(arg.arg)
        line, text = at(decorator)  # type: ignore[operator]
        model = next((k.value for k in decorator.keywords if k.arg == "response_model"), None)
        returns = ast.unparse(model) if model is not None else ast.unparse(node.returns) if node.returns else ""
        facts.routes.append(
            Route(
                method.upper(),
                str(decorator.args[0].value),
                status if isinstance(status, int) else None,
                tuple(params),
                tuple(bounded),
                line,
                text,
                returns,
            )
        )


def _is_log_call(node: ast.Call) -> bool:
    func = node.func
    if isinstance(func, ast.Attribute) and func.attr in _LOG_METHODS:
        owner = func.value
        name = owner.id if isinstance(owner, ast.Name) else owner.attr if isinstance(owner, ast.Attribute) else ""
        return bool(_LOG_OBJECTS.match(name))
    return isinstance(func, ast.Name) and func.id == "print"


def _log_names(node: ast.Call) -> tuple[list[str], list[str]]:
    """Names a log call passes (variables, attributes, dict keys, f-string fields) and the masked ones."""
    names: list[str] = []
    masked: list[str] = []

    def visit(child: ast.AST, under_mask: bool) -> None:
        if isinstance(child, ast.Call):
            callee = ast.unparse(child.func)
            inner = under_mask or bool(_MASKING.search(callee.lower()))
            for part in [*child.args, *(k.value for k in child.keywords)]:
                visit(part, inner)
            return
        if isinstance(child, ast.Dict):
            for key, value in zip(child.keys, child.values, strict=True):
                if isinstance(key, ast.Constant) and isinstance(key.value, str):
                    (masked if under_mask or _is_masked(value) else names).append(key.value)
                if value is not None:
                    visit(value, under_mask)
            return
        if isinstance(child, ast.Name | ast.Attribute):
            name = child.id if isinstance(child, ast.Name) else child.attr
            (masked if under_mask else names).append(name)
            return
        for grandchild in ast.iter_child_nodes(child):
            visit(grandchild, under_mask)

    for part in [*node.args, *(k.value for k in node.keywords)]:
        visit(part, False)
    return names, masked


def _is_masked(value: ast.AST | None) -> bool:
    return isinstance(value, ast.Call) and bool(_MASKING.search(ast.unparse(value.func).lower()))


# --- configuration ---------------------------------------------------------------------------

_SECRET_KEY = re.compile(
    r"^\s*(?:-\s*)?[\"']?([\w.-]*?(?:password|passwd|pwd|secret|api[_-]?key|apikey|access[_-]?key|private[_-]?key|"
    r"client[_-]?secret|auth[_-]?token|token|signing[_-]?key|credentials?)[\w.-]*)[\"']?\s*[:=]\s*(.+?)\s*,?\s*$",
    re.IGNORECASE,
)
_CREDENTIALS_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s:/@]+:([^\s@/]+)@", re.IGNORECASE)
_PLACEHOLDER = re.compile(
    r"^[\"']?(?:\$\{|\$\(|\{\{|<|%\(|\$[A-Z_]|env:|vault:|secret:|ENC\[|arn:|\*{3}|x{3,}|\.\.\.|"
    r"(?:redacted|changeme|change_me|your[-_]|example|placeholder|dummy|none|null|true|false|~)\b|os\.environ|"
    r"getenv|settings\.|config\.|secrets\.|valueFrom|secretKeyRef)|^[\"']{2}$|^[\[{]$",
    re.IGNORECASE,
)


def _read_config(block: CodeBlock, facts: CodeFacts, *, python: bool = False) -> None:
    for i, line in enumerate(block.text.split("\n")):
        match = _SECRET_KEY.match(line)
        value = match.group(2).split(" #")[0].strip() if match else ""
        secret = match is not None and _literal_secret(value, quoted_only=python)
        url = _CREDENTIALS_URL.search(line)
        if secret or (url and not _PLACEHOLDER.match(url.group(1))):
            facts.secrets.append(Secret(match.group(1) if secret and match else "url credentials", block.line + i,
                                        line.strip()))  # fmt: skip


def _literal_secret(value: str, quoted_only: bool = False) -> bool:
    """A literal, non-placeholder value of at least 6 characters: not a key's own name, a number, a
    type or an expression (``Annotated[str, Field(…)]``); in Python only a quoted string."""
    bare = value.strip("\"'")
    if quoted_only and not re.fullmatch(r"([\"']).+\1", value.strip()):
        return False
    if len(bare) < 6 or _PLACEHOLDER.match(value) or _PLACEHOLDER.match(bare) or bare.isdigit():
        return False
    if not re.fullmatch(r"([\"']).+\1", value.strip()) and re.search(r"[\[\](){}]", bare):
        return False
    return not re.fullmatch(r"[A-Za-z_][\w.]*\(.*\)|[A-Z_][A-Z0-9_]*", bare)  # a call or a constant's name
