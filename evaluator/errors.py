"""Errors a user can act on, all in one place.

Every failure the core expects raises a subclass of :class:`EvaluatorError` whose message
says what is wrong and what to do. The CLI prints that one line and exits non-zero; any
other exception is a bug and keeps its traceback.

Library messages name settings in words ("a larger context"), never a command-line flag:
an error that a setting can fix lists that setting's name in ``settings`` (the field of
the options object: ``n_ctx``, ``parallel``, ``db``...), and the CLI adds its own flag.
"""

from __future__ import annotations


class EvaluatorError(Exception):
    """Base class: the message is shown to the user as it is.

    ``settings``: names of the options (Python names, e.g. ``"n_ctx"``) that would fix it.
    """

    exit_code = 2

    def __init__(self, message: str, *, settings: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.settings = settings


class DocumentError(EvaluatorError):
    """An input document cannot be used (missing, empty, binary, too large...)."""


class ProfileError(EvaluatorError):
    """A reviewer profile is unknown or malformed."""


class ModelError(EvaluatorError):
    """A model or backend cannot be found or loaded."""


class PromptError(EvaluatorError):
    """A prompt template is missing or fails to render."""


class ContextError(EvaluatorError):
    """The inputs cannot be fitted into the model's context window."""


class CapacityError(EvaluatorError):
    """The requested parallelism does not fit this machine."""


class CaseError(EvaluatorError):
    """A folder of cases or a case manifest cannot be used."""


class ClusterError(EvaluatorError):
    """A distributed run (Ray) cannot start, or lost every worker."""


class LabelError(EvaluatorError):
    """A dataset's labels (labels.toml) cannot be used."""


class StoreError(EvaluatorError):
    """The database cannot be opened or queried."""


class ReportError(EvaluatorError):
    """The HTML report cannot be written."""


class OutputError(EvaluatorError):
    """An output file or folder cannot be written."""


class GenerationError(EvaluatorError):
    """The model's output was unusable even after a retry; ``raw`` keeps what it said."""

    exit_code = 3

    def __init__(self, message: str, raw: str = "", *, settings: tuple[str, ...] = ()) -> None:
        super().__init__(message, settings=settings)
        self.raw = raw
