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
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from evaluator.documents.formats import SUPPORTED_SUFFIXES
from evaluator.documents.read import read_text
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


_BATCH = 100  # review files per transaction: one opening of the store, and readers get it between batches


def ingest(
    paths: list[Path],
    db: Path,
    *,
    profile: str = DEFAULT_PROFILE,
    case_key: str | None = None,
    reparse: bool = False,
    lock_timeout: float | None = None,
    on_wait: Callable[[str], None] | None = None,
) -> list[Ingested]:
    """Parse and store every review under ``paths``; non-reviews are reported and skipped.

    ``case_key`` files a single review under that case. ``reparse``: a review already stored
    is parsed again and its rows replaced when the parse or its case key changed. Files are
    parsed, then written :data:`_BATCH` at a time in one transaction each. While another
    process holds the store, writing waits (``lock_timeout`` seconds, None: as long as it takes),
    telling ``on_wait`` every 30 s who holds it.
    Raises :class:`EvaluatorError` for a missing path or a case key given for several files.
    """
    reviewer_profile = load_profile(profile)
    files = find_reviews(paths)
    if case_key and len(files) > 1:
        raise EvaluatorError(
            "a case key applies to a single review file; give one file or leave it out", settings=("case_key",)
        )
    keys = [case_key] if case_key and files else case_keys(files)
    pairs = [(path, key) for (path, _), key in zip(files, keys, strict=True)]
    results: list[Ingested] = []
    with Store(db, wait_s=lock_timeout, on_wait=on_wait) as store:
        run_id = store.begin_run("ingest", " ".join(map(str, paths)), profile=reviewer_profile.name)
        batch = _Batch(store, run_id, reviewer_profile, reparse)
        for start in range(0, len(pairs), _BATCH):
            results += batch.files(pairs[start : start + _BATCH])
        ok = sum(r.status in ("ok", "reparsed") for r in results)
        store.finish_run(run_id, "completed", total=len(results), ok=ok, failed=0, skipped=len(results) - ok)
    return results


@dataclass(frozen=True)
class _Parsed:
    """A review file read and parsed, not yet stored."""

    path: Path
    key: str
    identity: str
    record: ReviewRecord


@dataclass
class _Batch:
    """One ingest run's writes."""

    store: Store
    run_id: str
    profile: Profile
    reparse: bool

    def __post_init__(self) -> None:
        self.done: set[str] = set()  # identities handled in this run: a copy of a file is a duplicate

    def files(self, pairs: list[tuple[Path, str]]) -> list[Ingested]:
        """Parse ``pairs`` (path, case key), then store what is new or changed in one transaction."""
        parsed = [self._parse(path, key) for path, key in pairs]
        with self.store.session():  # one opening of the file for the lookup and the writes
            stored = self.store.stored_reviews([p.identity for p in parsed if isinstance(p, _Parsed)])
            results, writes = [], []
            for item in parsed:
                result, write = self._decide(item, stored) if isinstance(item, _Parsed) else (item, None)
                results.append(result)
                writes += [write] if write else []
            self.store.write_all(writes)
        return results

    def _parse(self, path: Path, key: str) -> _Parsed | Ingested:
        try:
            text = read_text(path, role="review")
            parsed = parse_review(text, self.profile)
        except EvaluatorError as exc:
            return Ingested(path, "skipped", key, str(exc))
        ident = identity(self.profile, hashlib.sha256(text.encode("utf-8")).hexdigest())
        record = ReviewRecord(self.run_id, key, source="ingested", review=parsed.review, markdown=text)
        record.cache_key, record.source_path, record.found_fields = ident, str(path.resolve()), parsed.found
        record.parse_notes = parsed.notes
        record.created_at = datetime.fromtimestamp(path.stat().st_mtime, UTC).replace(tzinfo=None)
        return _Parsed(path, key, ident, record)

    def _decide(
        self, item: _Parsed, stored: dict[str, dict[str, Any]]
    ) -> tuple[Ingested, tuple[str | None, ReviewRecord] | None]:
        """What to do with one parsed review: store it, replace its stored parse, or nothing."""
        path, key, record, before = item.path, item.key, item.record, stored.get(item.identity)
        if item.identity in self.done or (before and not self.reparse):
            return Ingested(path, "duplicate", key, "already ingested"), None
        self.done.add(item.identity)
        if before is None:
            return Ingested(path, "ok", key), (None, record)
        changes = _changes(before, record)
        if not changes:
            return Ingested(path, "duplicate", key, "already ingested, same parse"), None
        record.created_at = before["created_at"]  # the review keeps its place in the case's series
        return Ingested(path, "reparsed", key, changes), (before["review_id"], record)


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
