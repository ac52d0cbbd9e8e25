"""Package faces that export names without importing them until they are used.

A face (``__init__``) that imported its modules would run them whenever anything imports
any module of the package: ``evaluator --help`` would pay for the parsers behind
``evaluator.grounding`` because the CLI reads the default profile's name from it.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import Any


def lazy_exports(package: str, homes: dict[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package`` that imports each name in ``homes`` (name -> module) on first use."""

    def __getattr__(name: str) -> Any:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(import_module(home), name)

    return __getattr__
