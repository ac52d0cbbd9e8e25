"""Labelled cases: designs with planted defects, described in a ``labels.toml`` beside them.

A design folder holding ``labels.toml`` is a labelled case. The file says whether the
design is ``expected = "sound"`` (no ``[[defect]]``) or ``"defective"`` (at least one), and
lists each planted defect with an ``id``, a ``severity`` (critical, recommendation or
suggestion), a ``description``, ``match``: phrases a finding that names the defect
would contain, and optionally ``requirement``: the id of the requirement it breaks. Any
malformed file is an error naming the file and what is wrong.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from evaluator.batch.cases import Case, discover, read_toml
from evaluator.errors import LabelError
from evaluator.review.record import SEVERITIES, Severity

LABELS_FILE = "labels.toml"
Expected = Literal["sound", "defective"]


@dataclass(frozen=True)
class Defect:
    """One planted defect of a design."""

    id: str
    severity: Severity
    description: str
    match: tuple[str, ...]
    requirement: str | None = None  # the requirement id it breaks, when the labeller names one


@dataclass(frozen=True)
class Labels:
    """What a design is known to contain."""

    expected: Expected
    defects: tuple[Defect, ...] = ()


@dataclass(frozen=True)
class LabelledCase:
    """A batch case together with its labels."""

    case: Case
    labels: Labels
    group: str  # the requirements file, relative to the dataset: designs are ranked within it


def labelled_cases(dataset: Path) -> list[LabelledCase]:
    """Every design under ``dataset`` whose folder holds a labels.toml, in batch order."""
    cases = [c for c in discover(dataset, allow_empty=True) if (c.design.parent / LABELS_FILE).is_file()]
    if not cases:
        raise LabelError(f"{dataset} has no labelled cases: no design folder holds a {LABELS_FILE}")
    top, labelled = dataset.resolve(), []
    for case in cases:
        if case.requirements is None:
            raise LabelError(f"labelled case {case.key} has no requirements.md or docs/requirements.md above it")
        group = Path(os.path.relpath(case.requirements.resolve(), top)).as_posix()
        labelled.append(LabelledCase(case, load_labels(case.design.parent / LABELS_FILE), group))
    return labelled


def load_labels(path: Path) -> Labels:
    """Read and check one labels.toml."""
    data = read_toml(path, LabelError)
    expected = data.get("expected")
    if expected not in ("sound", "defective"):
        raise LabelError(f'{path}: expected must be "sound" or "defective", not {expected!r}')
    entries = data.get("defect", [])
    if not isinstance(entries, list):
        raise LabelError(f"{path}: defect must be a list of [[defect]] tables")
    defects = tuple(_defect(path, i, entry) for i, entry in enumerate(entries, 1))
    ids = [d.id for d in defects]
    if len(set(ids)) != len(ids):
        raise LabelError(f"{path}: defect ids must be unique, got {ids}")
    if (expected == "sound") != (not defects):
        raise LabelError(f"{path}: a sound design has no [[defect]] and a defective one at least one")
    return Labels(expected, defects)


def _defect(path: Path, number: int, entry: Any) -> Defect:
    where = f"{path}: defect {number}"
    if not isinstance(entry, dict):
        raise LabelError(f"{where} must be a table with id, severity, description and match")
    for key in ("id", "description"):
        if not isinstance(entry.get(key), str) or not entry[key].strip():
            raise LabelError(f"{where} needs a non-empty {key} string")
    severity = entry.get("severity")
    if severity not in SEVERITIES:
        raise LabelError(f"{where} ({entry['id']}): severity must be one of {', '.join(SEVERITIES)}, not {severity!r}")
    match = entry.get("match")
    if not isinstance(match, list) or not match or not all(isinstance(m, str) and m.strip() for m in match):
        raise LabelError(f"{where} ({entry['id']}): match must be a non-empty list of non-empty phrases")
    requirement = entry.get("requirement")
    if requirement is not None and (not isinstance(requirement, str) or not requirement.strip()):
        raise LabelError(f"{where} ({entry['id']}): requirement must be a requirement id string")
    return Defect(entry["id"], severity, entry["description"], tuple(match), requirement)
