"""Finding the cases of a batch: each design paired with its requirements document.

Every ``tech-design.EXT`` or ``*-design.EXT`` under the folder (never a ``*review*`` file)
is a design, where EXT is any supported format (md, markdown, txt, docx, pdf, html, htm,
rst, adoc, asciidoc); its requirements are the nearest ``requirements.EXT`` or
``docs/requirements.EXT`` in its folder or a parent, up to the batch folder (markdown
first when several formats sit side by side), or a requirements tool's export there:
``requirements.reqif``/``.reqifz``/``.csv``/``.xlsx``/``.json``, ``needs.json`` (sphinx-needs),
or a Doorstop tree in ``requirements/`` (:mod:`evaluator.documents.imports`). A TOML manifest lists cases explicitly for
layouts that do not follow this rule. A folder with no design at all is an error that says
what was seen and skipped.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evaluator.documents.formats import SUPPORTED_SUFFIXES
from evaluator.documents.imports import DOORSTOP_CONFIG, IMPORTED_SUFFIXES
from evaluator.errors import CaseError, EvaluatorError

# Documents first, then the exports of requirements tools (evaluator.documents.imports).
_EXPORTS = (*(f"requirements{ext}" for ext in IMPORTED_SUFFIXES), "needs.json", f"requirements/{DOORSTOP_CONFIG}")
_DOCUMENTS = tuple(f"requirements{ext}" for ext in SUPPORTED_SUFFIXES)
REQUIREMENTS_NAMES = tuple(f"{folder}{name}" for folder in ("", "docs/") for name in (*_DOCUMENTS, *_EXPORTS))
NAMING_RULE = (
    "designs are named tech-design.EXT or *-design.EXT, without 'review' in the name, where EXT is one of "
    + ", ".join(ext.lstrip(".") for ext in SUPPORTED_SUFFIXES)
)
DEFAULT_MAX_CASES = 10_000  # more designs than this is more likely a wrong folder than a batch


@dataclass(frozen=True)
class Case:
    """One design to review; ``requirements`` is None when none was found."""

    key: str
    design: Path
    requirements: Path | None


def is_design(name: str) -> bool:
    """Whether a file name is a design by the naming rule."""
    stem, ext = os.path.splitext(name.lower())
    return ext in SUPPORTED_SUFFIXES and (stem == "tech-design" or stem.endswith("-design")) and "review" not in stem


def discover(root: Path, *, allow_empty: bool = False) -> list[Case]:
    """Every design under ``root``, sorted so designs sharing requirements are adjacent.

    Raises :class:`CaseError` when the folder is missing, or holds no design (unless
    ``allow_empty``), naming the files it saw and skipped and the naming rule.
    """
    if not root.is_dir():
        raise CaseError(f"batch folder not found: {root} — pass a folder of designs")
    cases, seen = [], []
    for folder, dirs, files in os.walk(root, followlinks=False):  # no symlink loops
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            design = Path(folder) / name
            if is_design(name):
                cases.append(Case(design.relative_to(root).as_posix(), design, find_requirements(design, root)))
            elif not name.startswith("."):
                seen.append(design.relative_to(root).as_posix())
    if not cases and not allow_empty:
        raise CaseError(_nothing_found(root, seen))
    return order(cases)


def _nothing_found(root: Path, seen: list[str]) -> str:
    if not seen:
        return f"no designs found in {root}: the folder holds no files — {NAMING_RULE}"
    shown = ", ".join(seen[:8]) + (f" and {len(seen) - 8} more" if len(seen) > 8 else "")
    return (
        f"no designs found in {root}: skipped {len(seen)} file(s) ({shown}) — {NAMING_RULE}; "
        "or list the cases in a manifest"
    )


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


_MANIFEST_KEYS = ("key", "design", "requirements")


def from_manifest(path: Path) -> list[Case]:
    """Cases listed in a TOML manifest: ``[[case]]`` with ``design``, ``requirements`` and optional ``key``.

    Checked whole before anything is reviewed: a table or key it does not know (a typo would
    otherwise be ignored), a case without its design or requirements, two cases under one key
    (they would become one case), and files that do not exist each raise :class:`CaseError`.
    """
    data = read_toml(path, CaseError, "manifest ")
    unknown = sorted(set(data) - {"case"})
    if unknown:
        raise CaseError(f"manifest {path}: unknown table or key {', '.join(unknown)} — list cases as [[case]] tables")
    entries = data.get("case", [])
    if not isinstance(entries, list) or not entries:
        raise CaseError(f"manifest {path} lists no [[case]] entries")
    cases = [_manifest_case(path, i, entry) for i, entry in enumerate(entries, 1)]
    _check_unique(path, cases)
    _check_files(path, cases)
    return order(cases)


def _manifest_case(path: Path, i: int, entry: Any) -> Case:
    if not isinstance(entry, dict):
        raise CaseError(f'manifest {path}: case {i} must be a table: [[case]] design = "..." requirements = "..."')
    unknown = sorted(set(entry) - set(_MANIFEST_KEYS))
    if unknown:
        raise CaseError(
            f"manifest {path}: case {i} has unknown key {', '.join(unknown)} — a case has key, design and requirements"
        )
    for name in ("design", "requirements"):
        if not isinstance(entry.get(name), str) or not entry[name].strip():
            raise CaseError(f'manifest {path}: case {i} needs {name} = "path" (relative to the manifest)')
    key = entry.get("key", entry["design"])
    if not isinstance(key, str) or not key.strip():
        raise CaseError(f'manifest {path}: case {i} has an empty or non-text key — key = "name", or leave it out')
    return Case(key, path.parent / entry["design"], path.parent / entry["requirements"])


def _check_unique(path: Path, cases: list[Case]) -> None:
    seen: dict[str, int] = {}
    for i, case in enumerate(cases, 1):
        if case.key in seen:
            raise CaseError(
                f"manifest {path}: cases {seen[case.key]} and {i} have the same key '{case.key}' — "
                "their reviews would merge into one case; give each its own key"
            )
        seen[case.key] = i


def _check_files(path: Path, cases: list[Case]) -> None:
    missing = [str(p) for case in cases for p in (case.design, case.requirements) if p and not p.is_file()]
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise CaseError(f"manifest {path}: {len(missing)} file(s) not found: {shown} — paths are relative to it")


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
