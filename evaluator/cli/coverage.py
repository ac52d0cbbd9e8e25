"""`evaluator coverage CASE`: which design passages address each requirement of a reviewed case."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from evaluator.cli.common import reported
from evaluator.cli.options import DEFAULT_DB, DbOpt, TrendFormat
from evaluator.cli.tables import print_tables


def coverage(
    case: Annotated[str, typer.Argument(help="The case key (e.g. team/svc/tech-design.md) or a glob matching one.")],
    db: DbOpt = DEFAULT_DB,
    output_format: Annotated[TrendFormat, typer.Option("--format", "-f", help="Output format.")] = TrendFormat.table,
) -> None:
    """Requirement traceability of a case's latest review: status and the design line of the evidence.

    Statuses: covered, partial, not_addressed, contradicted (the design decides against it).
    Example: evaluator coverage 'clinic-appointments/sound/*' --db evaluator.duckdb
    """
    from evaluator.reports.data import case_coverage

    with reported():
        key, rows = case_coverage(db, case)
    if output_format == TrendFormat.json:
        data = [
            {"requirement_id": r.requirement_id, "status": r.status, "line": r.line_start, "text": r.text} for r in rows
        ]
        json.dump({"case_key": key, "requirements": data}, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return
    table = Table("requirement", "status", "line", "text", title=f"traceability of {key}")
    for r in rows:
        table.add_row(Text(r.requirement_id), r.status.replace("_", " "), str(r.line_start or "–"), Text(r.text))
    print_tables(table)
