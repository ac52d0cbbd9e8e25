"""The library's front door: the functions the CLI (or any caller) uses."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from evaluator.backends import BackendFactory, ModelOptions, backend_factory
from evaluator.documents.imports import read_requirements
from evaluator.documents.read import DEFAULT_MAX_BYTES, read_document
from evaluator.grounding.profiles import DEFAULT_PROFILE
from evaluator.offline import enforce_offline
from evaluator.review.record import Review
from evaluator.reviewer.engine import ReviewSettings
from evaluator.reviewer.setup import ReviewSetup


def review_files(
    requirements: Path,
    design: Path,
    *,
    backend: BackendFactory | None = None,
    profile: str = DEFAULT_PROFILE,
    settings: ReviewSettings | None = None,
    prompts_dir: Path | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    progress: Callable[[str], None] | None = None,
) -> Review:
    """Review one design file against its requirements file.

    ``backend`` opens the model (default: the embedded GGUF through ``llama-cpp``); it is
    opened for this review and closed after it. Inputs, profile and prompts are checked
    before the model is opened, so bad input fails at once. Raises an EvaluatorError
    subclass for anything a user can fix (DocumentError, ProfileError, ModelError,
    ContextError, GenerationError with the raw output).
    """
    enforce_offline()
    requirements_doc = read_requirements(requirements, role="requirements", max_bytes=max_bytes)
    design_doc = read_document(design, role="design", max_bytes=max_bytes)
    setup = ReviewSetup.load(profile, prompts_dir, settings)
    factory = backend or backend_factory(ModelOptions())
    if progress:
        progress("loading the model")
    with factory.open() as loaded:
        return setup.reviewer(loaded, progress).review(requirements_doc, design_doc)
