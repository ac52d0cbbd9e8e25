"""Finding the cases of a batch: each design paired with its requirements document.

Every ``tech-design.md`` or ``*-design.md`` under the folder (never a ``*review*`` file) is
a design; its requirements are the nearest ``requirements.md`` or ``docs/requirements.md``
in its folder or a parent, up to the batch folder. A TOML manifest lists cases explicitly
for layouts that do not follow this rule.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evaluator.errors import CaseError, EvaluatorError

REQUIREMENTS_NAMES = ("requirements.md", "docs/requirements.md")
DEFAULT_MAX_CASES = 10_000  # more designs than this is more likely a wrong folder than a batch


@dataclass(frozen=True)
class Case:
    """One design to review; ``requirements`` is None when none was found."""

    key: str
    design: Path
    requirements: Path | None


def is_design(name: str) -> bool:
    """Whether a file name is a design by the naming rule."""
    lower = name.lower()
    return (lower == "tech-design.md" or lower.endswith("-design.md")) and "review" not in lower


def discover(root: Path) -> list[Case]:
    """Every design under ``root``, sorted so designs sharing requirements are adjacent."""
    if not root.is_dir():
        raise CaseError(f"batch folder not found: {root} — pass a folder of designs")
    cases = []
    for folder, dirs, files in os.walk(root, followlinks=False):  # no symlink loops
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if is_design(name):
                design = Path(folder) / name
                cases.append(Case(design.relative_to(root).as_posix(), design, find_requirements(design, root)))
    return order(cases)


def find_requirements(design: Path, root: Path) -> Path | None:
    """The nearest requirements file from the design's folder up to ``root``."""
    folder, top = design.parent.resolve(), root.resolve()
    while True:
        for name in REQUIREMENTS_NAMES:
            candidate = folder / name
            if candidate.is_file():
                return design.parent / os.path.relpath(candidate, design.parent.resolve())
        if folder == top or folder.parent == folder:
            return None
        folder = folder.parent


def read_toml(path: Path, error: type[EvaluatorError], what: str = "") -> dict[str, Any]:
    """A TOML file's data, or ``error`` with one line saying why it could not be read."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise error(f"cannot read {what}{path}: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise error(f"{what}{path} is not valid TOML: {exc}") from None


def from_manifest(path: Path) -> list[Case]:
    """Cases listed in a TOML manifest: ``[[case]]`` with ``design``, ``requirements`` and optional ``key``."""
    data = read_toml(path, CaseError, "manifest ")
    cases = []
    for i, entry in enumerate(data.get("case", []), 1):
        if not isinstance(entry, dict) or "design" not in entry:
            raise CaseError(f'manifest {path}: case {i} needs at least design = "path"')
        design = path.parent / entry["design"]
        requirements = path.parent / entry["requirements"] if entry.get("requirements") else None
        cases.append(Case(str(entry.get("key", entry["design"])), design, requirements))
    if not cases:
        raise CaseError(f"manifest {path} lists no [[case]] entries")
    return order(cases)


def check_batch_size(cases: list[Case], max_cases: int) -> None:
    """Refuse a batch of more than ``max_cases`` designs, before anything is opened or written."""
    if len(cases) > max_cases:
        raise CaseError(
            f"the batch has {len(cases):,} designs, more than the limit of {max_cases:,} — "
            "check the folder, or raise the limit",
            settings=("max_cases",),
        )


def order(cases: list[Case]) -> list[Case]:
    """Group designs that share requirements, so the KV cache reuses the shared prefix."""
    return sorted(cases, key=lambda c: (str(c.requirements or ""), c.key))
