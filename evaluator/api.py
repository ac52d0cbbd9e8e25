"""The library's front door: the functions the CLI (or any caller) uses."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from evaluator.backends import BackendFactory, ModelOptions, backend_factory
from evaluator.documents.imports import read_requirements
from evaluator.documents.read import DEFAULT_MAX_BYTES, Document, read_document
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
    requirements_doc, design_doc = read_case(requirements, design, max_bytes=max_bytes)
    return review_documents(
        requirements_doc,
        design_doc,
        backend=backend,
        profile=profile,
        settings=settings,
        prompts_dir=prompts_dir,
        progress=progress,
    )


def read_case(requirements: Path, design: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> tuple[Document, Document]:
    """The requirements and design documents of one case, read, converted and checked (DocumentError if not)."""
    enforce_offline()
    requirements_doc = read_requirements(requirements, role="requirements", max_bytes=max_bytes)
    return requirements_doc, read_document(design, role="design", max_bytes=max_bytes)


def review_documents(
    requirements: Document,
    design: Document,
    *,
    backend: BackendFactory | None = None,
    profile: str = DEFAULT_PROFILE,
    settings: ReviewSettings | None = None,
    prompts_dir: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> Review:
    """Review documents :func:`read_case` read (the CLI renders them with their source maps): as
    :func:`review_files` after reading."""
    enforce_offline()
    setup = ReviewSetup.load(profile, prompts_dir, settings)
    factory = backend or backend_factory(ModelOptions())
    if progress:
        progress("loading the model")
    with factory.open() as loaded:
        return setup.reviewer(loaded, progress).review(requirements, design)
