"""Output paths, checked before the work that fills them, so that finished work is never lost.

A review takes minutes of model time and a batch a night: a path that cannot be written must
be refused before that work starts, with one line, not found out after it with a traceback.
Parent folders are created (as ``gate`` and ``report`` do); a path that is a folder, under a
file, or in a folder this process may not write is an :class:`~evaluator.errors.OutputError`.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from evaluator.errors import OutputError


def check_output_file(path: Path, what: str = "output file") -> None:
    """Make sure ``path`` can be written later: create its folder, try a file beside it, then remove it.

    Raises :class:`OutputError` naming ``what``, the path and the reason. Nothing is left behind
    but the created folders, and an existing file at ``path`` is not touched.
    """
    if path.is_dir():
        raise OutputError(f"the {what} {path} is a folder — give a file name")
    check_output_folder(path.parent, f"folder of the {what}")
    if path.exists() and not os.access(path, os.W_OK):
        raise OutputError(f"cannot write the {what} {path}: permission denied — check the output path")


def check_output_folder(folder: Path, what: str = "output folder") -> None:
    """Create ``folder`` (and its parents) and check a file can be created in it; :class:`OutputError` if not."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, probe = tempfile.mkstemp(dir=folder, prefix=".evaluator-", suffix=".check")
        os.close(handle)
        os.unlink(probe)
    except OSError as exc:
        raise OutputError(f"cannot write into the {what} {folder}: {_reason(exc)} — check the output path") from None


@contextmanager
def writing(what: str = "output") -> Iterator[None]:
    """An OSError raised while writing ``what`` becomes one :class:`OutputError` line naming the file."""
    try:
        yield
    except OSError as exc:
        where = f" {exc.filename}" if exc.filename else ""
        raise OutputError(f"cannot write the {what}{where}: {_reason(exc)} — check the output path") from None


def _reason(exc: OSError) -> str:
    if isinstance(exc, FileExistsError | NotADirectoryError):
        return "a file is in the way of a folder on that path"
    return exc.strerror or str(exc)
