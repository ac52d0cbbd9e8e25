"""`evaluator status`: the latest run, readable while a batch writes (a table, or JSON for scripts)."""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from rich.text import Text

from evaluator.cli.common import err, reported
from evaluator.cli.options import DEFAULT_DB, DbOpt
from evaluator.cli.tables import print_tables

if TYPE_CHECKING:  # the store pulls in duckdb: `evaluator --help` should not pay for it
    from evaluator.reports.status import CaseLine, RunStatus


class StatusFormat(StrEnum):
    """Output formats of `status`."""

    table = "table"
    json = "json"


def status(
    db: DbOpt = DEFAULT_DB,
    recent: Annotated[int, typer.Option("--recent", min=0, help="How many of the last cases to show.")] = 5,
    output_format: Annotated[StatusFormat, typer.Option("--format", "-f", help="Output format.")] = StatusFormat.table,
) -> None:
    """The latest run: cases done, failed and remaining, docs/hour, ETA, its last cases and failures.

    Works while a batch is writing the same file. Example: evaluator status --db evaluator.duckdb --format json
    """
    from evaluator.reports.status import run_status

    with reported():
        state = run_status(db, recent=recent)
    if output_format == StatusFormat.json:
        json.dump(state.to_dict(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print_status(state)


def print_status(s: RunStatus) -> None:
    """The run's figures, its last cases and its failures as tables on stdout."""
    figures = Table(
        "run", "status", "done", "failed", "skipped", "remaining", "docs/hour", "ETA", "elapsed", title="latest run"
    )  # fmt: skip
    figures.add_row(
        Text(f"{s.run_id[:12]} {s.kind} {s.source or ''}".strip()), s.status, str(s.done), str(s.failed),
        _or_dash(s.skipped), _or_dash(s.remaining),
        _or_dash(None if s.docs_per_hour is None else f"{s.docs_per_hour:.1f}"),
        _duration(s.eta_s), _duration(s.elapsed_s),
    )  # fmt: skip
    recent = Table("case", "status", "at", "completeness", "soundness", "assessment", "readiness", title="last cases")
    for c in s.recent:
        recent.add_row(
            Text(c.case_key), c.status, f"{c.at:%Y-%m-%d %H:%M:%S}", _completeness(c), _or_dash(c.soundness),
            Text(c.assessment or "-"), Text(c.readiness or "-"),
        )  # fmt: skip
    tables = [figures, recent]
    if s.failures:
        failures = Table("case", "at", "error", title="failures")
        for c in s.failures:
            failures.add_row(Text(c.case_key), f"{c.at:%Y-%m-%d %H:%M:%S}", Text(c.error or "-"))
        tables.append(failures)
    print_tables(*tables)
    if s.status == "interrupted" and s.finished_at is None:
        err.print("the batch writing this run is gone (killed?) — run it again to resume")


def _completeness(c: CaseLine) -> str:
    """A successful review without a completeness score was not assessed (nothing binding to trace)."""
    return "not assessed" if c.status == "ok" and c.completeness is None else _or_dash(c.completeness)


def _or_dash(value: object) -> str:
    if value is None:
        return "-"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _duration(seconds: float | None) -> str:
    return "-" if seconds is None else str(timedelta(seconds=round(seconds)))
