"""Bringing existing review markdown (by people, or a hosted assistant) into the store.

Each file is parsed (pure, see :mod:`evaluator.parse`) into the same review, findings,
section and checklist rows as a generated review, marked ``source = 'ingested'`` with its
path. A review is identified by its content, so ingesting the same files again adds nothing.
Its ``created_at`` is the file's modification time, so trends reach back before the first
local run.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from evaluator.documents import read_document
from evaluator.errors import EvaluatorError
from evaluator.parse import parse_review
from evaluator.profiles import DEFAULT_PROFILE, load_profile
from evaluator.store import ReviewRecord, Store


@dataclass(frozen=True)
class Ingested:
    """What happened to one file."""

    path: Path
    status: Literal["ok", "duplicate", "skipped"]
    case_key: str
    message: str = ""


def find_reviews(paths: list[Path]) -> list[tuple[Path, Path | None]]:
    """Each markdown file to ingest, with the folder it was found under (None for a file given directly)."""
    found: list[tuple[Path, Path | None]] = []
    for path in paths:
        if path.is_dir():
            found += [(p, path) for p in sorted(path.rglob("*.md")) if p.is_file() and not p.is_symlink()]
        elif path.is_file():
            found.append((path, None))
        else:
            raise EvaluatorError(f"not found: {path} — give review markdown files or folders")
    return found


def case_key_for(path: Path, root: Path | None) -> str:
    """The case a review belongs to: its path (relative to the folder given) minus '-review'.

    ``team/svc/tech-design-review.md`` -> ``team/svc/tech-design.md``, which is the key a
    batch over the same folder gives the design, so both series meet in ``trends``.
    """
    relative = path.relative_to(root) if root else Path(path.name)
    name = relative.name.replace("-review.md", ".md").replace("_review.md", ".md")
    return (relative.parent / name).as_posix()


def ingest(
    paths: list[Path], db: Path, *, profile: str = DEFAULT_PROFILE, case_key: str | None = None
) -> list[Ingested]:
    """Parse and store every review under ``paths``; non-reviews are reported and skipped."""
    reviewer_profile = load_profile(profile)
    files = find_reviews(paths)
    if case_key and len(files) > 1:
        raise EvaluatorError(
            "a case key applies to a single review file; give one file or leave it out", settings=("case_key",)
        )
    results: list[Ingested] = []
    with Store(db) as store:
        run_id = store.begin_run("ingest", " ".join(map(str, paths)), profile=reviewer_profile.name)
        for path, root in files:
            key = case_key or case_key_for(path, root)
            try:
                document = read_document(path, role="review")
                parsed = parse_review(document.text, reviewer_profile)
            except EvaluatorError as exc:
                results.append(Ingested(path, "skipped", key, str(exc)))
                continue
            identity = hashlib.sha256(f"ingested\0{reviewer_profile.name}\0{document.sha256}".encode()).hexdigest()
            if store.cached_review(identity):
                results.append(Ingested(path, "duplicate", key, "already ingested"))
                continue
            record = ReviewRecord(run_id, key, source="ingested", review=parsed.review, markdown=document.text)
            record.cache_key, record.source_path, record.found_fields = identity, str(path.resolve()), parsed.found
            record.created_at = datetime.fromtimestamp(path.stat().st_mtime, UTC).replace(tzinfo=None)
            store.save(record)
            results.append(Ingested(path, "ok", key))
        ok = sum(r.status == "ok" for r in results)
        store.finish_run(run_id, "completed", total=len(results), ok=ok, failed=0, skipped=len(results) - ok)
    return results
