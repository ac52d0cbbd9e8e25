"""The library's front door: the functions the CLI (or any caller) uses."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from evaluator.backends import ModelOptions, open_backend
from evaluator.documents import DEFAULT_MAX_BYTES, read_document
from evaluator.offline import enforce_offline
from evaluator.profiles import DEFAULT_PROFILE, load_profile
from evaluator.prompts import Prompts
from evaluator.review import Review
from evaluator.reviewer import Reviewer, ReviewSettings


def review_files(
    requirements: Path,
    design: Path,
    *,
    profile: str = DEFAULT_PROFILE,
    model: ModelOptions | None = None,
    settings: ReviewSettings | None = None,
    prompts_dir: Path | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    progress: Callable[[str], None] | None = None,
) -> Review:
    """Review one design file against its requirements file with a freshly loaded model.

    Inputs, profile and prompts are checked before the model is loaded, so bad input fails
    at once.
    """
    enforce_offline()
    requirements_doc = read_document(requirements, role="requirements", max_bytes=max_bytes)
    design_doc = read_document(design, role="design", max_bytes=max_bytes)
    reviewer_profile = load_profile(profile, prompts_dir)
    prompts = Prompts(prompts_dir)
    prompts.render("system.md.j2", profile=reviewer_profile)
    if progress:
        progress("loading the model")
    backend = open_backend(model or ModelOptions())
    try:
        reviewer = Reviewer(backend, reviewer_profile, prompts, settings, progress=progress)
        return reviewer.review(requirements_doc, design_doc)
    finally:
        backend.close()
