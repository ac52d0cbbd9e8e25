"""`evaluator trends` and `evaluator report`: scores across runs, and the HTML report."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from evaluator.cli.common import err, reported
from evaluator.cli.options import (
    DEFAULT_DB,
    DbOpt,
    TrendBy,
    TrendFormat,
)


def trends(
    db: DbOpt = DEFAULT_DB,
    by: Annotated[TrendBy, typer.Option("--by", help="One series per case, model, profile or prompt.")] = TrendBy.case,
    output_format: Annotated[TrendFormat, typer.Option("--format", "-f", help="Output format.")] = TrendFormat.table,
) -> None:
    """Score trends across runs and document revisions, with the change since the last review.

    By case, also what the latest revision of each design changed: findings new, persisting
    (present since an earlier revision) and resolved, matched by fingerprint.
    """
    from evaluator.cli.output import print_trends
    from evaluator.reports.lifecycle import lifecycles
    from evaluator.reports.trends import trends as load_trends

    with reported():
        series = load_trends(db, by.value)
        history = lifecycles(db) if by.value == "case" else {}
    print_trends(series, by.value, output_format.value, history)


def report(
    db: DbOpt = DEFAULT_DB,
    output: Annotated[Path, typer.Option("--output", "-o", help="The HTML file to write.")] = Path("report.html"),
    since: Annotated[
        datetime | None, typer.Option("--since", help="Only reviews made at or after this date/time (UTC).")
    ] = None,
    case: Annotated[
        list[str] | None, typer.Option("--case", help="Only cases whose key matches this glob; repeatable.")
    ] = None,
) -> None:
    """Write a self-contained HTML report: latest run, score trends, findings, comparisons, reviews.

    One file with inline styles and SVG charts, no script and nothing loaded from a network.
    Example: evaluator report --db evaluator.duckdb -o report.html --since 2026-01-01 --case 'payments/*'
    """
    from evaluator.reports.data import Scope
    from evaluator.reports.html import write_report

    with reported():
        result = write_report(db, output, Scope(since, tuple(case or ())))
    err.print(
        f"report written to {result.path}: {result.cases} cases, {result.reviews} reviews, "
        f"{result.size_bytes / 1024:,.0f} KiB",
        soft_wrap=True,
    )
