"""The batch's plan: what a run reviews with, which cases it reviews, and what it reports.

**Plan** reads every case's documents, computes its cache key from the documents, the model
(:class:`~evaluator.backends.ModelInfo`), profile, prompts and settings, and sets aside what
is already reviewed (with that review's id) or cannot be reviewed. The types here are shared
by the run (:mod:`.run`), its executors (:mod:`.executors`, :mod:`.ray_executor`) and their
workers (:mod:`.workers`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from evaluator.backends.base import ModelInfo
from evaluator.batch.capacity import Capacity
from evaluator.batch.cases import DEFAULT_MAX_CASES, Case
from evaluator.documents.imports import read_requirements
from evaluator.documents.read import DEFAULT_MAX_BYTES, Document, read_document
from evaluator.errors import EvaluatorError
from evaluator.grounding.profiles import DEFAULT_PROFILE
from evaluator.review.record import Review
from evaluator.reviewer.engine import ReviewSettings
from evaluator.reviewer.setup import ReviewSetup
from evaluator.store import Store

Status = Literal["ok", "failed", "skipped", "cached"]


@dataclass(frozen=True)
class BatchOptions:
    """What to review with, and where to store it (the model comes as a backend factory)."""

    db: Path
    profile: str = DEFAULT_PROFILE
    settings: ReviewSettings = field(default_factory=ReviewSettings)
    prompts_dir: Path | None = None
    limit: int | None = None
    max_bytes: int = DEFAULT_MAX_BYTES
    max_cases: int = DEFAULT_MAX_CASES  # a larger batch is refused before anything is written
    parallel: int | None = 1  # cases decoded together; None: auto (see evaluator.batch.capacity)
    lock_timeout: float | None = None  # seconds to wait for a store another program holds; None: as long as it takes


@dataclass
class CaseOutcome:
    """What happened to one case; ``review_id`` is its row in ``reviews`` (a cached case: the earlier one)."""

    case: Case
    status: Status
    message: str = ""
    review: Review | None = None
    review_id: str | None = None


@dataclass
class BatchSummary:
    """The result of a batch run."""

    run_id: str
    outcomes: list[CaseOutcome]
    seconds: float
    interrupted: bool = False

    def count(self, status: Status) -> int:
        """How many cases ended with ``status``."""
        return sum(o.status == status for o in self.outcomes)

    @property
    def tokens(self) -> int:
        """Prompt plus completion tokens of the reviews done in this run."""
        return sum(
            o.review.usage.prompt_tokens + o.review.usage.completion_tokens
            for o in self.outcomes
            if o.review and o.review.usage
        )

    @property
    def docs_per_hour(self) -> float:
        """Reviewed (ok or failed) documents per hour of this run's wall time."""
        done = self.count("ok") + self.count("failed")
        return done * 3600 / self.seconds if self.seconds > 0 else 0.0


class BatchObserver:
    """Progress callbacks; the defaults do nothing. The CLI draws a progress bar with them."""

    def planned(self, total: int, todo: int) -> None:
        """``todo`` of ``total`` cases will be reviewed (the rest are cached or skipped)."""

    def started(self, case: Case) -> None:
        """A review begins."""

    def step(self, message: str) -> None:
        """A pass within the current review begins."""

    def capacity(self, capacity: Capacity) -> None:
        """The model is about to be loaded for ``capacity.parallel`` sequences."""

    def finished(self, outcome: CaseOutcome) -> None:
        """A case is done, whatever its status."""

    def waiting(self, message: str) -> None:
        """The store is held by another program; said every 30 s while the batch waits for it."""


@dataclass
class Job:
    """One case to review: its documents read, its cache key computed."""

    case: Case
    requirements: Document
    design: Document
    cache_key: str


@dataclass
class Plan:
    """What a run will do: ``jobs`` to review, and the cases already settled (cached, skipped, unreadable)."""

    jobs: list[Job]
    settled: list[CaseOutcome]


@dataclass(frozen=True)
class Setup:
    """What a run reviews with (:class:`~evaluator.reviewer.setup.ReviewSetup` and the model), and
    what identifies it (the run row, the cache keys)."""

    review: ReviewSetup
    info: ModelInfo

    @classmethod
    def load(cls, options: BatchOptions, info: ModelInfo) -> Setup:
        """Load and check the profile and prompts (bad ones fail before anything is written)."""
        return cls(ReviewSetup.load(options.profile, options.prompts_dir, options.settings), info)

    @property
    def prompt_hash(self) -> str:
        """The prompt templates' digest."""
        return self.review.prompt_hash

    def run_meta(self) -> dict[str, Any]:
        """The ``runs`` row's description of what this run reviews with."""
        return {
            "model_name": self.info.name,
            "model_sha256": self.info.digest,
            "backend": self.info.kind,
            "backend_version": self.info.version,
            "profile": self.review.profile.name,
            "prompt_hash": self.prompt_hash,
            "settings": {"review": asdict(self.review.settings), "n_ctx": self.info.n_ctx},
        }

    def fingerprint(self) -> str:
        """Everything but the documents that a cache key covers (a runtime upgrade alone does not count)."""
        meta = {k: v for k, v in self.run_meta().items() if k != "backend_version"}
        return _hash(json.dumps({**meta, "profile_data": self.review.profile.model_dump()}, sort_keys=True))


def plan_batch(cases: list[Case], options: BatchOptions, fingerprint: str, store: Store) -> Plan:
    """Read every case's documents and look its cache key up; return what must be reviewed (up to the limit)."""
    plan = Plan([], [])
    for case in cases:
        if case.requirements is None:
            missing = "no requirements.md or docs/requirements.md (nor .docx, .pdf, .html, .rst, .adoc) found for it"
            plan.settled.append(CaseOutcome(case, "skipped", missing))
            continue
        try:
            requirements = read_requirements(case.requirements, role="requirements", max_bytes=options.max_bytes)
            design = read_document(case.design, role="design", max_bytes=options.max_bytes)
        except EvaluatorError as exc:
            plan.settled.append(CaseOutcome(case, "failed", str(exc)))
            continue
        # The converter joins the key: a new markitdown may read the same .docx differently.
        converters = "".join(f"\0{d.converter}" for d in (design, requirements) if d.converter)
        key = _hash(design.sha256 + requirements.sha256 + fingerprint + converters)
        review_id = store.cached_review(key)
        if review_id is None:
            plan.jobs.append(Job(case, requirements, design, key))
        else:
            message = "already reviewed with the same inputs and settings"
            plan.settled.append(CaseOutcome(case, "cached", message, review_id=review_id))
    if options.limit is not None:
        del plan.jobs[options.limit :]
    return plan


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
