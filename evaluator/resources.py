"""Where the shipped data lives: the prompt folder and the model manifest.

In a source checkout (or an editable install) they are the top-level ``prompts/`` and
``models/`` folders; a built wheel carries copies under ``evaluator/_data/``.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _data_dir(name: str) -> Path:
    for candidate in (_PACKAGE / "_data" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"the installation is incomplete: no '{name}' folder beside {_PACKAGE}")


def prompts_dir() -> Path:
    """The built-in prompt templates and reviewer profiles."""
    return _data_dir("prompts")


def models_dir() -> Path:
    """The folder holding ``manifest.toml``."""
    return _data_dir("models")
