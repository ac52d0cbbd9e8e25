"""Waivers: findings a team has accepted, as a reviewed TOML file in its repository.

One ``[[waiver]]`` table per accepted finding::

    [[waiver]]
    fingerprint = "7e2979f7eb49b80b"   # the finding's fingerprint (SARIF partialFingerprints, findings.fingerprint)
    case = "payments/*"                 # a glob on the case key; "*" for every case
    justification = "Retries are owned by the platform's outbox relay (ADR-12)."
    approved_by = "Dana Reyes (architecture board)"
    expires = 2026-09-30

or ``check = "consumer-dead-letter"`` instead of ``fingerprint``, to accept what one check
raises in the matching cases. The file is data checked at the door: a malformed entry is one
error naming the file, the waiver and the field. A waiver is live through its ``expires``
day; the gate applies live waivers only (see :mod:`evaluator.reports.gate`).
"""

from __future__ import annotations

import fnmatch
import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from evaluator.errors import EvaluatorError


class WaiverError(EvaluatorError):
    """A waivers file cannot be used (missing, not TOML, or an entry is malformed)."""

    def __init__(self, message: str, *, settings: tuple[str, ...] = ("waivers",)) -> None:
        super().__init__(message, settings=settings)


class Waiver(BaseModel):
    """One accepted finding: what it matches, why it is accepted, who approved it, until when."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fingerprint: str | None = Field(default=None, pattern=r"^[0-9a-f]{16}$")
    check: str | None = Field(default=None, min_length=1)
    case: str = Field(min_length=1)
    justification: str
    approved_by: str
    expires: date

    @field_validator("justification", "approved_by")
    @classmethod
    def _said(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must say something")
        return value.strip()

    @model_validator(mode="after")
    def _one_target(self) -> Waiver:
        if (self.fingerprint is None) == (self.check is None):
            raise ValueError("give either a fingerprint or a check, not both and not neither")
        return self

    @property
    def matched_by(self) -> Literal["fingerprint", "check"]:
        """What the waiver matches findings by."""
        return "fingerprint" if self.fingerprint else "check"

    def describe(self) -> str:
        """'fingerprint 7e2979f7eb49b80b on 'payments/*'' or 'check consumer-dead-letter on '*''."""
        return f"{self.matched_by} {self.fingerprint or self.check} on {self.case!r}"

    def expired(self, today: date) -> bool:
        """Whether ``today`` is past the expiry day (a waiver is live through its ``expires`` day)."""
        return today > self.expires

    def covers(self, case_key: str) -> bool:
        """Whether the waiver's case glob matches ``case_key``."""
        return fnmatch.fnmatchcase(case_key, self.case)

    def matches(self, case_key: str, fingerprint: str, check_id: str | None) -> bool:
        """Whether the waiver accepts a finding with this fingerprint and check in case ``case_key``."""
        target = fingerprint if self.fingerprint else check_id
        return self.covers(case_key) and target == (self.fingerprint or self.check)


@dataclass(frozen=True)
class Waivers:
    """The waivers of one file, in file order (``number`` is 1-based, as people count them)."""

    path: Path
    entries: tuple[Waiver, ...]

    def name(self, index: int) -> str:
        """'waiver 2 (check consumer-dead-letter on '*')' for the waiver at 0-based ``index``."""
        return f"waiver {index + 1} ({self.entries[index].describe()})"


def load_waivers(path: Path) -> Waivers:
    """Read and validate a waivers file. Raises :class:`WaiverError` with one line saying what is wrong."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise WaiverError(f"no waivers file at {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise WaiverError(f"cannot read the waivers file {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise WaiverError(f"{path} is not valid TOML: {exc}") from None
    unknown = sorted(set(raw) - {"waiver"})
    if unknown:
        raise WaiverError(f"{path}: unknown table {unknown[0]!r} — each waiver is a [[waiver]] table")
    tables = raw.get("waiver", [])
    if not isinstance(tables, list):
        raise WaiverError(f"{path}: 'waiver' must be an array of tables, written [[waiver]]")
    entries = []
    for number, table in enumerate(tables, 1):
        try:
            entries.append(Waiver.model_validate(table))
        except ValidationError as exc:
            raise WaiverError(f"{path}: waiver {number}: {_first_problem(exc)}") from None
    return Waivers(path, tuple(entries))


def _first_problem(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"])
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "missing":
        return f"{where} is missing"
    if error["type"] == "extra_forbidden":
        return f"unknown field {where!r} (fields: fingerprint or check, case, justification, approved_by, expires)"
    if where == "expires":
        return f"expires must be a date such as 2026-09-30 ({message})"
    if where == "fingerprint":
        return "fingerprint must be the 16 hex digits of a finding's fingerprint"
    return f"{where}: {message}" if where else message
