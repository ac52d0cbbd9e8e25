"""Bringing existing review markdown (by people, or a hosted assistant) into the store.

Each file is parsed (pure, see :mod:`evaluator.ingest.parse`) into the same review, findings,
section and checklist rows as a generated review, marked ``source = 'ingested'`` with its
path. A review is identified by its content (and the profile), so ingesting the same files
again adds nothing; with ``reparse`` a file already stored is parsed again and its rows are
replaced when the parse (or its case key) changed, so an older store catches up with a fixed
parser. Its ``created_at`` is the file's modification time, so trends reach back before the
first local run.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from evaluator.documents.formats import SUPPORTED_SUFFIXES
from evaluator.documents.read import read_document
from evaluator.errors import EvaluatorError
from evaluator.grounding.profiles import DEFAULT_PROFILE, Profile, load_profile
from evaluator.ingest.parse import parse_review
from evaluator.store import ReviewRecord, Store


@dataclass(frozen=True)
class Ingested:
    """What happened to one file: stored, stored again after a changed parse, already there, or not a review."""

    path: Path
    status: Literal["ok", "reparsed", "duplicate", "skipped"]
    case_key: str
    message: str = ""


def find_reviews(paths: list[Path]) -> list[tuple[Path, Path | None]]:
    """Each review file to ingest (any supported format), once, with the folder it was found under.

    The folder is None for a file given directly.
    """
    found: dict[Path, tuple[Path, Path | None]] = {}
    for path in paths:
        files: list[tuple[Path, Path | None]]
        if path.is_dir():
            files = [
                (p, path)
                for p in sorted(path.rglob("*"))
                if p.suffix.lower() in SUPPORTED_SUFFIXES and p.is_file() and not p.is_symlink()
            ]
        elif path.is_file():
            files = [(path, None)]
        else:
            raise EvaluatorError(f"not found: {path} — give review markdown files or folders")
        for file, root in files:
            found.setdefault(file.resolve(), (file, root))
    return list(found.values())


def _without_review(relative: Path) -> str:
    """``x/tech-design-review.md`` -> ``x/tech-design.md``, for any suffix (``-review.docx`` -> ``.docx``)."""
    suffix = relative.suffix
    stem = relative.name[: -len(suffix)] if suffix else relative.name
    for tail in ("-review", "_review"):
        if stem.endswith(tail):
            stem = stem[: -len(tail)]
            break
    return (relative.parent / f"{stem}{suffix}").as_posix()


def case_key_for(path: Path, root: Path | None) -> str:
    """The case of one review on its own: its path relative to ``root`` (or its name) minus '-review'.

    ``team/svc/tech-design-review.md`` -> ``team/svc/tech-design.md``, which is the key a
    batch over the same folder gives the design, so both series meet in ``trends``.
    """
    return _without_review(path.relative_to(root) if root else Path(path.name))


def _absolute(path: Path) -> Path:
    return Path(os.path.abspath(path))


def case_keys(files: list[tuple[Path, Path | None]]) -> list[str]:
    """The case of each review of one ingest, unique within it.

    Paths are taken relative to the common parent of the folders given and the folders of
    the files given, then '-review'/'_review' is removed from the name. A folder alone keeps
    the keys a batch over it gives; ``a/x-review.md`` and ``b/x-review.md`` become ``a/x.md``
    and ``b/x.md``. Files whose keys would still meet (``x-review.md`` beside ``x.md``) keep
    their full relative path.
    """
    if not files:
        return []
    folders = [_absolute(root) if root else _absolute(path).parent for path, root in files]
    base = Path(os.path.commonpath(folders))
    relative = [_absolute(path).relative_to(base) for path, _ in files]
    keys = [_without_review(r) for r in relative]
    while len(set(keys)) < len(keys):
        shared = {key for key in keys if keys.count(key) > 1}
        keys = [r.as_posix() if key in shared else key for key, r in zip(keys, relative, strict=True)]
    return keys


def identity(profile: Profile, sha256: str) -> str:
    """The content identity of an ingested review: the same text under the same profile is the same review."""
    return hashlib.sha256(f"ingested\0{profile.name}\0{sha256}".encode()).hexdigest()


def ingest(
    paths: list[Path],
    db: Path,
    *,
    profile: str = DEFAULT_PROFILE,
    case_key: str | None = None,
    reparse: bool = False,
) -> list[Ingested]:
    """Parse and store every review under ``paths``; non-reviews are reported and skipped.

    ``case_key`` files a single review under that case. ``reparse``: a review already stored
    is parsed again and its rows replaced when the parse or its case key changed.
    Raises :class:`EvaluatorError` for a missing path or a case key given for several files.
    """
    reviewer_profile = load_profile(profile)
    files = find_reviews(paths)
    if case_key and len(files) > 1:
        raise EvaluatorError(
            "a case key applies to a single review file; give one file or leave it out", settings=("case_key",)
        )
    keys = [case_key] if case_key and files else case_keys(files)
    results: list[Ingested] = []
    with Store(db) as store:
        run_id = store.begin_run("ingest", " ".join(map(str, paths)), profile=reviewer_profile.name)
        batch = _Batch(store, run_id, reviewer_profile, reparse)
        results = [batch.file(path, key) for (path, _), key in zip(files, keys, strict=True)]
        ok = sum(r.status in ("ok", "reparsed") for r in results)
        store.finish_run(run_id, "completed", total=len(results), ok=ok, failed=0, skipped=len(results) - ok)
    return results


@dataclass
class _Batch:
    """One ingest run's writes."""

    store: Store
    run_id: str
    profile: Profile
    reparse: bool

    def __post_init__(self) -> None:
        self.done: set[str] = set()  # identities handled in this run: a copy of a file is a duplicate

    def file(self, path: Path, key: str) -> Ingested:
        try:
            document = read_document(path, role="review")
            parsed = parse_review(document.text, self.profile)
        except EvaluatorError as exc:
            return Ingested(path, "skipped", key, str(exc))
        ident = identity(self.profile, document.sha256)
        stored = self.store.stored_review(ident)
        if ident in self.done or (stored and not self.reparse):
            return Ingested(path, "duplicate", key, "already ingested")
        self.done.add(ident)
        record = ReviewRecord(self.run_id, key, source="ingested", review=parsed.review, markdown=document.text)
        record.cache_key, record.source_path, record.found_fields = ident, str(path.resolve()), parsed.found
        record.parse_notes = parsed.notes
        record.created_at = datetime.fromtimestamp(path.stat().st_mtime, UTC).replace(tzinfo=None)
        if stored is None:
            self.store.save(record)
            return Ingested(path, "ok", key)
        changes = _changes(stored, record)
        if not changes:
            return Ingested(path, "duplicate", key, "already ingested, same parse")
        record.created_at = stored["created_at"]  # the review keeps its place in the case's series
        self.store.replace(stored["review_id"], record)
        return Ingested(path, "reparsed", key, changes)


def _changes(stored: dict[str, Any], record: ReviewRecord) -> str:
    """'case key tech-design.md -> a/tech-design.md; parse changed', or '' when the stored rows are current."""
    changes = []
    if stored["case_key"] != record.case_key:
        changes.append(f"case key {stored['case_key']} -> {record.case_key}")
    review = record.review.model_dump(mode="json") if record.review else None
    fresh = (review, record.found_fields or [], record.parse_notes or [])
    if (stored["review"], stored["found_fields"] or [], stored["parse_notes"] or []) != fresh:
        changes.append("parse changed")
    return "; ".join(changes)
