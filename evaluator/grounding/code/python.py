"""Python in a design, read through the standard ast: SQL in its string literals, Pydantic/dataclass
fields, SQLAlchemy columns, FastAPI routes and log calls. A block that does not parse is skipped."""

from __future__ import annotations

import ast
import re

from evaluator.documents.passages import CodeBlock
from evaluator.grounding.code.facts import CodeFacts, Column, FactSource, LogCall, Route
from evaluator.grounding.code.sql import SQL_START, read_sql

_ROUTE_METHODS = {"get", "post", "put", "patch", "delete"}
_LOG_OBJECTS = re.compile(r"^(?:log|logger|logging|_log|_logger|structlog|audit_log|log\w*|\w*logger)$", re.I)
_LOG_METHODS = {"debug", "info", "warning", "warn", "error", "exception", "critical", "msg", "log"}
_MASKING = re.compile(r"mask|redact|hash|hmac|digest|tokeni[sz]e|pseudonymi[sz]e|anonymi[sz]e|encrypt|obfuscate|last4")


def read_python(block: CodeBlock, facts: CodeFacts) -> None:
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
        if sql is not None and SQL_START.match(sql):
            read_sql(CodeBlock("sql", sql, at(node)[0]), facts)  # SQL in a Python string
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
        return "".join(
            v.value if isinstance(v, ast.Constant) and isinstance(v.value, str) else "x" for v in node.values
        )
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
