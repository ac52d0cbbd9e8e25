"""What a review is made with: a profile, its prompts and the settings, loaded and checked once.

The library's one-case API, the batch (its driver and every worker) and both benches build
their reviewers here, so each checks its inputs the same way and before any model is
opened: the profile loads and validates, and the prompt templates render the system message
for it. A setup is picklable (it travels to Ray workers): its template environment is
rebuilt from ``prompts_dir`` where it lands, and the worker compares the prompts' digest with
the driver's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from evaluator.backends.base import Backend
from evaluator.grounding.profiles import DEFAULT_PROFILE, Profile, load_profile
from evaluator.reviewer.engine import Reviewer, ReviewSettings
from evaluator.reviewer.prompts import Prompts


@dataclass(frozen=True)
class ReviewSetup:
    """A loaded profile, the prompts folder (None: the built-in prompts) and the review settings."""

    profile: Profile
    settings: ReviewSettings = field(default_factory=ReviewSettings)
    prompts_dir: Path | None = None

    @classmethod
    def load(
        cls, profile: str = DEFAULT_PROFILE, prompts_dir: Path | None = None, settings: ReviewSettings | None = None
    ) -> ReviewSetup:
        """Load ``profile`` (a name or a .toml path) and check that the prompts render for it.

        Raises :class:`~evaluator.errors.ProfileError` or :class:`~evaluator.errors.PromptError`.
        """
        setup = cls(load_profile(profile, prompts_dir), settings or ReviewSettings(), prompts_dir)
        setup.prompts.render("system.md.j2", profile=setup.profile)
        return setup

    @cached_property
    def prompts(self) -> Prompts:
        """The prompt templates: the user's folder first, then the built-in ones."""
        return Prompts(self.prompts_dir)

    @property
    def prompt_hash(self) -> str:
        """The prompt templates' digest (part of every batch cache key)."""
        return self.prompts.digest()

    def reviewer(self, backend: Backend, progress: Callable[[str], None] | None = None) -> Reviewer:
        """A reviewer over an open ``backend``; ``progress`` hears of each pass of a review."""
        return Reviewer(backend, self.profile, self.prompts, self.settings, progress=progress)

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without the template environment, which is rebuilt on first use."""
        state = dict(self.__dict__)
        state.pop("prompts", None)
        return state
