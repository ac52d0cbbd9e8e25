"""Reviewer profiles: who the reviewer is and what its review contains, as data.

A profile is a TOML file under ``prompts/profiles/``; a second reviewer (another stack,
another list of sections or checklist items) is a new file, not new code.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from evaluator.errors import ProfileError
from evaluator.grounding.detectors import DETECTORS
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
    """One line of the Implementation Readiness Checklist.

    It is ticked when no failed check maps to it and the design shows ``evidence`` (any of
    these patterns, not negated) — or, with ``coverage``, when at least that share of the
    requirements is covered and none is contradicted.
    """

    key: str = Field(pattern=_KEY_PATTERN)
    text: str
    evidence: list[str] = []
    coverage: float | None = Field(default=None, ge=0, le=1)


CheckSeverity = Literal["critical", "recommendation", "suggestion"]


def _compiles(patterns: list[str]) -> list[str]:
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"bad regular expression {pattern!r}: {exc}") from None
    return patterns


def _known_rule(name: str) -> str:
    if name not in DETECTORS:
        raise ValueError(f"unknown detector {name!r}; known: {', '.join(sorted(DETECTORS))}")
    return name


class AppliesWhen(BaseModel):
    """When a check applies at all: a pattern of each list (if any) must match its document —
    a binding requirement statement, a deciding passage of the design."""

    requirements: list[str] = []
    design: list[str] = []

    _compile = field_validator("requirements", "design")(classmethod(lambda cls, v: _compiles(v)))


class Technology(BaseModel):
    """A technology a check can need (``stack``): the design uses it when its code or configuration
    shows it (``code``), or a deciding passage names it (``names``, whole words) outside a
    parenthesised list of examples and, when ``context`` is given, beside one of those words
    ("events go to a Kafka topic" uses Kafka; "RocksDB, as in Kafka Streams" does not)."""

    id: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    names: list[str] = []
    code: list[str] = []
    context: list[str] = []

    _compile = field_validator("names", "code", "context")(classmethod(lambda cls, v: _compiles(v)))


class Check(BaseModel):
    """One check of a focus area, as data; see :mod:`evaluator.grounding.checks` for the rules.

    Words for the review: ``title`` states the failure, ``problem`` why it matters, ``advice``
    what to change, ``passed`` what a design that meets it does (a sentence), ``missing`` what an
    absent design lacks (a noun clause: "The design does not describe <missing>."), and
    ``look_for`` the terms an absence was searched for. Rules: ``stack`` the technologies the
    design must use, ``demanded_by`` the requirement statements that make it blocking (with
    ``applies_when.requirements``), ``addressed_by`` / ``detector`` named rules of
    :mod:`evaluator.grounding.detectors` that pass / fail it.
    """

    id: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    area: str = ""
    title: str
    question: str
    problem: str = ""
    advice: str = ""
    passed: str = ""
    missing: str = ""
    look_for: list[str] = []
    severity: CheckSeverity
    absent: CheckSeverity | Literal["none"] = "none"
    section: list[str] = []
    checklist: list[str] = []
    stack: list[str] = []
    applies_when: AppliesWhen = AppliesWhen()
    demanded_by: list[str] = []
    scope: list[str] = []
    scope_from_requirements: bool = False  # only passages about what the triggering requirements name
    addresses: list[str] = []
    contradicts: list[str] = []
    unless: list[str] = []  # a passage matching one of these never contradicts (e.g. health probes)
    detector: str | None = None
    addressed_by: list[str] = []

    _compile = field_validator("scope", "addresses", "contradicts", "unless", "demanded_by")(
        classmethod(lambda cls, v: _compiles(v))
    )

    @field_validator("detector")
    @classmethod
    def _known_detector(cls, name: str | None) -> str | None:
        return None if name is None else _known_rule(name)

    @field_validator("addressed_by")
    @classmethod
    def _known_rules(cls, names: list[str]) -> list[str]:
        return [_known_rule(name) for name in names]

    @property
    def demands(self) -> list[str]:
        """Patterns of the requirement statements that demand what this check looks for."""
        return self.demanded_by or self.applies_when.requirements


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
    checks: list[Check] = []
    technologies: list[Technology] = []

    @model_validator(mode="after")
    def _checks_fit(self) -> Profile:
        ids = [c.id for c in self.checks]
        if len(set(ids)) != len(ids):
            raise ValueError(f"duplicate check ids: {', '.join(sorted({i for i in ids if ids.count(i) > 1}))}")
        known = {t.id for t in self.technologies}
        for check in self.checks:
            unknown = [s for s in check.stack if s not in known]
            if unknown:
                raise ValueError(f"check {check.id} needs unknown technologies {', '.join(unknown)}")
        return self

    def check_checklist(self, check: Check) -> str | None:
        """The checklist item a check bears on: the first of its ``checklist`` keys the profile has."""
        keys = {c.key for c in self.checklist}
        return next((k for k in check.checklist if k in keys), None)

    def check_section(self, check: Check) -> str:
        """The review section a check belongs to: the first of its ``section`` keys the profile has."""
        keys = {s.key for s in self.sections}
        return next((k for k in check.section if k in keys), self.sections[0].key)

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
        for shared in data.pop("include_checks", []):
            checks, technologies = _shared_checks(shared, user_dir)
            data.setdefault("checks", []).extend(checks)
            data.setdefault("technologies", []).extend(technologies)
        return Profile.model_validate(data)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ProfileError(f"profile {path} is not valid TOML: {exc}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ProfileError(f"profile {path} is invalid at '{where}': {first['msg']}") from None


def _shared_checks(name: str, user_dir: Path | None) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """The ``[[checks]]`` and ``[[technologies]]`` of ``checks/NAME.toml`` (the user's folder first)."""
    folders = ([user_dir / "checks"] if user_dir else []) + [prompts_dir() / "checks"]
    path = next((f / f"{name}.toml" for f in folders if (f / f"{name}.toml").is_file()), None)
    if path is None:
        raise ProfileError(f"included checks '{name}' not found in {', '.join(map(str, folders))}")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ProfileError(f"checks file {path} is not valid TOML: {exc}") from None
    return list(data.get("checks", [])), list(data.get("technologies", []))


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
