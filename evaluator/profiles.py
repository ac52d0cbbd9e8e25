"""Reviewer profiles: who the reviewer is and what its review contains, as data.

A profile is a TOML file under ``prompts/profiles/``; a second reviewer (another stack,
another list of sections or checklist items) is a new file, not new code.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError, field_validator

from evaluator.errors import ProfileError
from evaluator.resources import prompts_dir

DEFAULT_PROFILE = "python-fastapi"
_KEY_PATTERN = r"^[a-z][a-z0-9_]*$"


class Criterion(BaseModel):
    """One review criterion and the questions it asks."""

    name: str
    checks: str


class FocusArea(BaseModel):
    """A group of topics the reviewer looks at closely."""

    name: str
    items: list[str]


class ReviewSection(BaseModel):
    """One subsection of the Section-by-Section Review."""

    key: str = Field(pattern=_KEY_PATTERN)
    title: str
    asks: str


class ChecklistItem(BaseModel):
    """One line of the Implementation Readiness Checklist."""

    key: str = Field(pattern=_KEY_PATTERN)
    text: str


class Profile(BaseModel):
    """A reviewer: role, criteria, focus areas, sections and checklist."""

    name: str
    title: str
    role: str
    expertise: list[str] = []
    criteria: list[Criterion] = []
    focus_areas: list[FocusArea] = []
    principles: list[str] = []
    sections: list[ReviewSection] = Field(min_length=1)
    checklist: list[ChecklistItem] = Field(min_length=1)

    @field_validator("sections", "checklist")
    @classmethod
    def _unique_keys(cls, items: list[ReviewSection] | list[ChecklistItem]) -> list:
        keys = [item.key for item in items]
        duplicates = sorted({k for k in keys if keys.count(k) > 1})
        if duplicates:
            raise ValueError(f"duplicate keys: {', '.join(duplicates)}")
        return items

    def section_title(self, key: str) -> str:
        """The display title of a section key (the key itself if unknown)."""
        return next((s.title for s in self.sections if s.key == key), key)


def profile_dirs(user_dir: Path | None = None) -> list[Path]:
    """Folders searched for profiles: the user's prompts folder first, then the built-in one."""
    dirs = [user_dir / "profiles"] if user_dir else []
    return [*dirs, prompts_dir() / "profiles"]


def available_profiles(user_dir: Path | None = None) -> list[str]:
    """Names of every profile that can be loaded."""
    names = {p.stem for d in profile_dirs(user_dir) if d.is_dir() for p in d.glob("*.toml")}
    return sorted(names)


def load_profile(name: str = DEFAULT_PROFILE, user_dir: Path | None = None) -> Profile:
    """Load a profile by name, or from a path to a ``.toml`` file."""
    path = _find(name, user_dir)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        return Profile.model_validate(data)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ProfileError(f"profile {path} is not valid TOML: {exc}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ProfileError(f"profile {path} is invalid at '{where}': {first['msg']}") from None


def _find(name: str, user_dir: Path | None) -> Path:
    if name.endswith(".toml"):
        path = Path(name)
        if path.is_file():
            return path
        raise ProfileError(f"profile file not found: {name}")
    for folder in profile_dirs(user_dir):
        path = folder / f"{name}.toml"
        if path.is_file():
            return path
    known = ", ".join(available_profiles(user_dir)) or "none"
    raise ProfileError(f"unknown profile '{name}' — available: {known}")
