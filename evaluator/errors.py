"""Errors a user can act on.

Every failure the core expects raises a subclass of :class:`EvaluatorError` whose message
says what is wrong and what to do. The CLI prints that one line and exits non-zero; any
other exception is a bug and keeps its traceback.
"""

from __future__ import annotations


class EvaluatorError(Exception):
    """Base class: the message is shown to the user as it is."""

    exit_code = 2


class DocumentError(EvaluatorError):
    """An input document cannot be used (missing, empty, binary, too large...)."""


class ProfileError(EvaluatorError):
    """A reviewer profile is unknown or malformed."""


class ModelError(EvaluatorError):
    """A model cannot be found or loaded."""


class PromptError(EvaluatorError):
    """A prompt template is missing or fails to render."""


class ContextError(EvaluatorError):
    """The inputs cannot be fitted into the model's context window."""


class GenerationError(EvaluatorError):
    """The model's output was unusable even after a retry; ``raw`` keeps what it said."""

    exit_code = 3

    def __init__(self, message: str, raw: str = "") -> None:
        super().__init__(message)
        self.raw = raw
