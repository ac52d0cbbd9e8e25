"""The package's import graph, read from its own import statements, has no cycle.

Every ``import`` counts: at the top of a module, under ``TYPE_CHECKING`` and inside
functions, because each is an arrow between two rooms whichever line it is written on.
``from evaluator.x import y`` imports ``evaluator.x`` and, where ``y`` is a module,
``evaluator.x.y``; a package face (``__init__``) is a module of its own, so a submodule
that imports through its own package's face closes a circle with it.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "evaluator"


def module_name(path: Path, package: Path) -> str:
    parts = list(path.relative_to(package.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(package: Path) -> dict[str, set[str]]:
    """Module -> the package's modules it imports."""
    files = {module_name(p, package): p for p in package.rglob("*.py")}

    def resolve(name: str) -> str | None:
        while name and name not in files:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        targets: list[str] = []
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: from the module's package, up level - 1
                    parts = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
                    parts = parts[: len(parts) - node.level + 1]
                    base = ".".join(parts + ([node.module] if node.module else []))
                targets += [base] + [f"{base}.{alias.name}" for alias in node.names]
        graph[module] = {r for t in targets if (r := resolve(t)) and r != module and r.split(".")[0] == package.name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_package_has_no_import_cycle() -> None:
    assert cycles(import_graph(PACKAGE)) == []


def _package(root: Path, modules: dict[str, str]) -> Path:
    for name, text in modules.items():
        path = root / "evaluator" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / "evaluator"


def test_an_import_inside_a_function_or_under_type_checking_closes_a_cycle(tmp_path: Path) -> None:
    package = _package(
        tmp_path,
        {
            "__init__.py": "",
            "low.py": "def helper() -> None:\n    from evaluator.room.high import thing\n",
            "room/__init__.py": "",
            "room/high.py": (
                "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from evaluator import low\nthing = 1\n"
            ),
        },
    )
    assert cycles(import_graph(package)) == [["evaluator.low", "evaluator.room.high"]]


def test_a_submodule_importing_through_its_own_face_closes_a_cycle(tmp_path: Path) -> None:
    package = _package(
        tmp_path,
        {
            "__init__.py": "",
            "room/__init__.py": "from evaluator.room.high import thing\n",
            "room/high.py": "from evaluator.room import low\nthing = 1\n",
            "room/low.py": "",
        },
    )
    assert cycles(import_graph(package)) == [["evaluator.room", "evaluator.room.high"]]
    (package / "room" / "high.py").write_text("from evaluator.room.low import *\nthing = 1\n")
    assert cycles(import_graph(package)) == []
