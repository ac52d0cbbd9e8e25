"""The store from the command line: `sql` reads it, `export` writes its tables to files, `ingest` adds
reviews written elsewhere."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from evaluator.cli.common import err, reported
from evaluator.cli.options import (
    DEFAULT_DB,
    DbOpt,
    ExportFormat,
    IngestPathsArg,
    LockTimeoutOpt,
    ProfileOpt,
    TableFormat,
)
from evaluator.grounding.profiles import DEFAULT_PROFILE


def sql(
    statement: Annotated[str, typer.Argument(help='One SQL statement, e.g. "SELECT * FROM latest_reviews".')],
    db: DbOpt = DEFAULT_DB,
    output_format: Annotated[TableFormat, typer.Option("--format", "-f", help="Output format.")] = TableFormat.table,
) -> None:
    """Query the store read-only; statements that write, attach or load are refused."""
    from evaluator.cli.output import print_rows
    from evaluator.store import query

    with reported():
        columns, rows = query(db, statement)
    print_rows(columns, rows, output_format.value)


def export(
    out_dir: Annotated[Path, typer.Argument(help="Folder to write one file per table into.")],
    db: DbOpt = DEFAULT_DB,
    output_format: Annotated[ExportFormat, typer.Option("--format", "-f", help="File format.")] = ExportFormat.parquet,
) -> None:
    """Export every table of the store as Parquet or CSV files."""
    from evaluator.store import export as export_tables

    with reported():
        paths = export_tables(db, out_dir, output_format.value)
    for path in paths:
        print(path)


def ingest(
    paths: IngestPathsArg,
    db: DbOpt = DEFAULT_DB,
    case_key: Annotated[
        str | None, typer.Option("--case-key", help="Case to file a single review under (default: from its path).")
    ] = None,
    profile: ProfileOpt = DEFAULT_PROFILE,
    reparse: Annotated[
        bool,
        typer.Option("--reparse", help="Parse reviews already stored again; replace their rows when that changed."),
    ] = False,
    lock_timeout: LockTimeoutOpt = None,
) -> None:
    """Store existing reviews (written by people or other tools) beside the generated ones.

    Case keys are paths relative to the common parent of what is given, minus '-review':
    a folder's `team/svc/tech-design-review.md` is filed under `team/svc/tech-design.md`, the
    key a batch over the same folder gives that design. Files that are not reviews are
    reported and skipped; ingesting twice adds nothing. `--reparse` refreshes rows stored by
    an older version of the parser.
    """
    from evaluator.cli.output import print_ingested
    from evaluator.ingest.reviews import ingest as ingest_reviews

    with reported():
        results = ingest_reviews(
            paths, db, profile=profile, case_key=case_key, reparse=reparse, lock_timeout=lock_timeout,
            on_wait=lambda message: err.print(f"[yellow]{escape(message)}[/]"),
        )  # fmt: skip
    print_ingested(err, results, db, reparse=reparse)
