"""``evaluator bench-trace``: trace-link recovery on the REFSQ'25 req2req sets, beside the published figures.

The replication package of Hey, Fuchß, Keim & Koziolek, "Requirements Traceability Link
Recovery via Retrieval-Augmented Generation" (REFSQ 2025; ArDoCo, MIT) holds one folder per set,
``datasets/req2req/<set>/`` with ``high/`` (the requirements, one file each, the file name less
``.txt`` being the id), ``low/`` (the design elements or low-level requirements, likewise) and
``answer.csv`` (the gold links, ``high,low``); ``experiments/approach-results.csv`` holds the
published figures. ``datasets/trace-links/`` of this repository is a copy of those files.

Each set is converted into one requirements document (one list item per requirement, its id
in bold; a title line without closing punctuation is joined to its text with " — ") and one
design document (one ``##`` section per design element, headed by its id), which are then read
exactly as a review reads documents; the links are the sections :func:`evaluator.grounding.tracing.design_linker`
links each requirement to. Figures are counted as the package counts them: a link is a
(requirement id, design id) pair; precision, recall, F1 and F2 = 5PR / (4P + R) are micro over
the links of one set.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from evaluator.documents.passages import passages
from evaluator.documents.requirements import parse_requirements
from evaluator.errors import CaseError
from evaluator.grounding.tracing import Embedder, design_linker

_TERMINAL = (".", "!", "?", ":", ";")


@dataclass(frozen=True)
class Scores:
    """Precision, recall, F1 and F2 of one approach on one set (None where the source gives none)."""

    precision: float | None
    recall: float | None
    f1: float | None
    f2: float | None


@dataclass(frozen=True)
class SetResult:
    """One set: its sizes, how many requirements were read under their own id, our scores and the published rows."""

    name: str
    requirements: int  # files in high/
    parsed: int  # requirements read from the converted document
    own_id: int  # of them, read under the id of their file
    design_elements: int
    gold: int
    predicted: int
    true_positives: int
    scores: Scores
    published: dict[str, Scores] = field(default_factory=dict)  # "TF-IDF", "embeddings top-4", "best LLM"


def find_sets(root: Path) -> list[Path]:
    """The set folders (``high/``, ``low/``, ``answer.csv``) in ``root`` or its ``datasets/req2req``;
    raises :class:`CaseError` naming what was expected when there are none."""
    for folder in (root / "datasets" / "req2req", root):
        if folder.is_dir():
            found = [p for p in sorted(folder.iterdir(), key=lambda p: p.name.lower()) if _is_set(p)]
            if found:
                return found
    raise CaseError(
        f"no trace-link sets in {root}: expected folders with high/, low/ and answer.csv (the REFSQ'25 "
        "replication package, or its datasets/req2req folder, or datasets/trace-links of this repository)"
    )


def _is_set(path: Path) -> bool:
    return (path / "high").is_dir() and (path / "low").is_dir() and (path / "answer.csv").is_file()


def artefact_id(name: str) -> str:
    """The id of an artefact file: its name less a ``.txt`` suffix (ids such as ``SRS5.12.2.1`` hold dots)."""
    return name[:-4] if name.endswith(".txt") else name


def _natural(name: str) -> list[int | str]:
    return [int(p) if p.isdigit() else p.lower() for p in re.split(r"(\d+)", name)]


def read_artefacts(folder: Path) -> dict[str, str]:
    """Every artefact of a folder by id, in natural order (UTF-8, or Windows-1252 for the older files)."""
    found: dict[str, str] = {}
    for path in sorted(folder.iterdir(), key=lambda p: _natural(p.name)):
        if path.is_file() and not path.name.startswith("."):
            raw = path.read_bytes()
            try:
                text = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                text = raw.decode("cp1252", errors="replace")
            found[artefact_id(path.name)] = text.replace("\r\n", "\n").replace("\r", "\n")
    return found


def read_gold(path: Path) -> set[tuple[str, str]]:
    """The gold links of ``answer.csv`` as (requirement id, design id) pairs."""
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    if rows and [c.strip().lower() for c in rows[0][:2]] == ["high", "low"]:
        rows = rows[1:]
    return {(artefact_id(r[0].strip()), artefact_id(r[1].strip())) for r in rows if len(r) >= 2 and r[0].strip()}


def requirements_markdown(name: str, requirements: dict[str, str]) -> str:
    """One list item per requirement, its id in bold, its text on one line."""
    lines = [f"# {name}: requirements", "", "## Requirements", ""]
    lines += [f"- **{rid}**: {_one_line(text)}" for rid, text in requirements.items()]
    return "\n".join(lines) + "\n"


def design_markdown(name: str, design: dict[str, str]) -> str:
    """One ``##`` section per design element, headed by its id, its text with its own line breaks."""
    parts = [f"# {name}: design"]
    for did, text in design.items():
        body = "\n".join(("\\" + line if line.startswith("#") else line) for line in _lines(text))
        body = re.sub(r"\n{3,}", "\n\n", body).strip()
        parts.append(f"## {did}\n\n{body}")
    return "\n\n".join(parts) + "\n"


def _lines(text: str) -> list[str]:
    return [" ".join(line.split()) for line in text.strip().split("\n")]


def _one_line(text: str) -> str:
    paragraphs = [" ".join(block.split()) for block in re.split(r"\n\s*\n", text.strip()) if block.strip()]
    if not paragraphs:
        return ""
    joined = paragraphs[0]
    for before, paragraph in itertools.pairwise(paragraphs):
        joined += (" " if before.endswith(_TERMINAL) else " — ") + paragraph
    return joined


def scores(predicted: set[tuple[str, str]], gold: set[tuple[str, str]]) -> Scores:
    """Micro precision, recall, F1 and F2 over link pairs."""
    hits = len(predicted & gold)
    p = hits / len(predicted) if predicted else 0.0
    r = hits / len(gold) if gold else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    f2 = 5 * p * r / (4 * p + r) if p + r else 0.0
    return Scores(round(p, 3), round(r, 3), round(f1, 3), round(f2, 3))


def run_set(folder: Path, embedder: Embedder | None = None) -> tuple[SetResult, set[tuple[str, str]]]:
    """Convert one set, link every requirement, and score the links; also return the predicted links."""
    sources, targets = read_artefacts(folder / "high"), read_artefacts(folder / "low")
    gold = read_gold(folder / "answer.csv")
    requirements = parse_requirements(requirements_markdown(folder.name, sources))
    linker = design_linker(requirements, passages(design_markdown(folder.name, targets)), embedder=embedder)
    predicted = {(r.id, link.heading) for r in requirements for link in linker.links(r)}
    result = SetResult(
        name=folder.name,
        requirements=len(sources),
        parsed=len(requirements),
        own_id=sum(1 for r in requirements if r.id in sources),
        design_elements=len(targets),
        gold=len(gold),
        predicted=len(predicted),
        true_positives=len(predicted & gold),
        scores=scores(predicted, gold),
    )
    return result, predicted


def run_benchmark(
    root: Path, embedder: Embedder | None = None, progress: Callable[[str], None] | None = None
) -> list[SetResult]:
    """Every set under ``root`` (see :func:`find_sets`), with the published figures where the package has them."""
    published = read_published(root)
    results = []
    for folder in find_sets(root):
        if progress:
            progress(f"linking {folder.name}")
        result, _ = run_set(folder, embedder)
        results.append(SetResult(**{**result.__dict__, "published": published.get(folder.name, {})}))
    return results


def read_published(root: Path) -> dict[str, dict[str, Scores]]:
    """The published rows per set from ``approach-results.csv`` (in ``root`` or ``root/experiments``):
    "TF-IDF" (the IR/VSM row, F1 and F2 only), "embeddings top-4" (IR/only) and "best LLM" (the CoT or
    KISS row with the highest F1). Empty when the file is not there."""
    candidates = (root / "approach-results.csv", root / "experiments" / "approach-results.csv")
    path = next((p for p in candidates if p.is_file()), None)
    if path is None:
        return {}
    found: dict[str, dict[str, Scores]] = {}
    for row in csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))):
        figures = Scores(*(_number(row.get(k, "")) for k in ("Precision", "Recall", "F1", "F2")))
        by_set = found.setdefault(row.get("Dataset", ""), {})
        approach, model = row.get("Approach", ""), row.get("Model", "")
        if approach == "IR" and model == "VSM":
            by_set["TF-IDF"] = figures
        elif approach == "IR" and model == "only":
            by_set["embeddings top-4"] = figures
        elif approach in ("CoT", "KISS") and (figures.f1 or 0) > (_f1(by_set.get("best LLM"))):
            by_set["best LLM"] = figures
    return found


def _f1(figures: Scores | None) -> float:
    return (figures.f1 or 0.0) if figures is not None else 0.0


def _number(text: str) -> float | None:
    try:
        return round(float(text), 3)
    except ValueError:
        return None
