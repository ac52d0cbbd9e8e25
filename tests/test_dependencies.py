"""Every library the package imports is one pyproject.toml declares.

A clean install gets only what is declared: a module that the developer's venv happens to hold (as a
dependency of a dependency, or from an earlier `pip install`) passes every local test and fails on a
fresh machine. Read from the import statements themselves, like the import-cycle test.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def imported_top_level(package: Path) -> set[str]:
    """Top-level names of every absolute import in the package's modules (stdlib included)."""
    names: set[str] = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {alias.name.partition(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names.add(node.module.partition(".")[0])
    return names


def normalised(distribution: str) -> str:
    """PEP 503's normalised project name: `PyYAML` and `pyyaml`, `llama_cpp_python` and `llama-cpp-python` agree."""
    return re.sub(r"[-_.]+", "-", distribution).lower()


def test_every_imported_library_is_a_declared_dependency() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = project["dependencies"] + [r for extra in project["optional-dependencies"].values() for r in extra]
    declared = {normalised(re.split(r"[\s<>=!~\[;]", r, maxsplit=1)[0]) for r in requirements}
    owners = packages_distributions()
    third_party = imported_top_level(ROOT / "evaluator") - set(sys.stdlib_module_names) - {"evaluator"}
    assert third_party, "the scan found no imports: it reads the wrong folder"
    undeclared = {
        name: owners.get(name, ["(not installed)"])
        for name in sorted(third_party)
        if not declared & {normalised(d) for d in owners.get(name, [])}
    }
    assert undeclared == {}, "imported but not declared in pyproject.toml: a clean install lacks them"
