"""Where the latest run stands: done, failed, remaining, speed, ETA, its last cases and its failures.

Read while a batch writes (see :mod:`evaluator.store`): one read-only connection, held for
four small queries. A run whose row still says 'running' but whose writer is gone (killed;
the next writer marks it 'interrupted') is reported as interrupted already.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from evaluator.errors import StoreError
from evaluator.store import read_only, writer_alive


@dataclass(frozen=True)
class CaseLine:
    """One review attempt of the run."""

    case_key: str
    status: str
    at: datetime
    completeness: float | None
    soundness: float | None
    assessment: str | None
    readiness: str | None
    error: str | None


@dataclass(frozen=True)
class RunStatus:
    """The latest run. ``remaining`` and ``eta_s`` are None where the run did not record a plan."""

    run_id: str
    kind: str
    status: str  # running | completed | interrupted
    started_at: datetime
    finished_at: datetime | None
    source: str | None
    model: str | None
    total: int | None  # cases the run was given
    done: int  # reviewed ok
    failed: int
    skipped: int | None  # cached, without requirements, or over --limit
    remaining: int | None
    elapsed_s: float
    docs_per_hour: float | None
    eta_s: float | None
    recent: list[CaseLine]
    failures: list[CaseLine]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able: datetimes as ISO 8601 strings."""
        return {k: _plain(v) for k, v in asdict(self).items()}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list):
        return [{k: _plain(v) for k, v in item.items()} for item in value]
    return value


_LINE = (
    "SELECT case_key, status, created_at, completeness_score, technical_soundness_score, overall_assessment, "
    "implementation_readiness, error FROM reviews WHERE run_id = ?"
)


def run_status(db: Path, *, recent: int = 5, failures: int = 20, now: datetime | None = None) -> RunStatus:
    """The latest run of ``db`` with its ``recent`` last cases and first ``failures`` failures.

    Raises StoreError when there is no database, no run in it, or it stays busy too long.
    """
    try:
        with read_only(db) as con:
            return _status(db, con, recent, failures, now)
    except duckdb.CatalogException:  # a file being created: its tables are not there yet
        raise StoreError(f"no runs in {db} yet — start a batch first") from None
    except duckdb.Error as exc:
        raise StoreError(f"cannot read {db}: {str(exc).splitlines()[0]}") from None


def _status(db: Path, con: duckdb.DuckDBPyConnection, recent: int, failures: int, now: datetime | None) -> RunStatus:
    run = con.execute(
        "SELECT run_id, kind, status, started_at, finished_at, source, model_name, cases_total, cases_skipped "
        "FROM runs ORDER BY started_at DESC LIMIT 1"
    ).fetchone()
    if run is None:
        raise StoreError(f"no runs in {db} yet — start a batch first")
    run_id = run[0]
    row = con.execute(
        "SELECT count(*) FILTER (status = 'ok'), count(*) FILTER (status = 'failed') FROM reviews WHERE run_id = ?",
        [run_id],
    ).fetchone()
    done, failed = (int(row[0]), int(row[1])) if row else (0, 0)
    last = con.execute(f"{_LINE} ORDER BY created_at DESC LIMIT ?", [run_id, recent]).fetchall()
    errors = con.execute(f"{_LINE} AND status = 'failed' ORDER BY created_at LIMIT ?", [run_id, failures]).fetchall()
    status = "interrupted" if run[2] == "running" and not writer_alive(db) else run[2]
    end = run[4] or (now or datetime.now(UTC).replace(tzinfo=None))
    elapsed = max(0.0, (end - run[3]).total_seconds())
    total, skipped = run[7], run[8]
    remaining = max(0, total - skipped - done - failed) if total is not None and skipped is not None else None
    rate = (done + failed) * 3600 / elapsed if elapsed > 0 and done + failed else None
    eta = remaining * 3600 / rate if rate and remaining is not None and status == "running" else None
    return RunStatus(
        run_id, run[1], status, run[3], run[4], run[5], run[6], total, done, failed, skipped,
        remaining, elapsed, rate, eta, [CaseLine(*r) for r in last], [CaseLine(*r) for r in errors],
    )  # fmt: skip
