"""`evaluator show`: one case's latest review, or the markdown its document was converted to."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from evaluator.cli.common import err, reported
from evaluator.cli.options import DEFAULT_DB, DbOpt


def show(
    case: Annotated[
        str, typer.Argument(help="The case key (or a glob naming one case), e.g. payments/tech-design.rst.")
    ],
    db: DbOpt = DEFAULT_DB,
    converted: Annotated[
        bool,
        typer.Option(
            "--converted",
            help="Show the markdown the design was converted to (what was reviewed and quoted), each line "
            "with its place in the source file.",
        ),
    ] = False,
    requirements: Annotated[
        bool, typer.Option("--requirements", help="With --converted: the requirements document instead.")
    ] = False,
    plain: Annotated[
        bool, typer.Option("--plain", help="With --converted: the markdown alone, without line numbers.")
    ] = False,
) -> None:
    """Print the latest review of a case, or with --converted the markdown its design became.

    A .docx, .pdf, .html, .rst or .adoc design is reviewed as markdown, and evidence lines refer
    to it; --converted prints that markdown with, on each line, its number and where it came from
    in the original: L40 (a line of a .rst, .adoc or .html file), ¶12 (a Word paragraph,
    counted in document order, table cells included) or p.3 (a PDF page).
    Example: evaluator show payments/tech-design.rst --converted --db evaluator.duckdb
    """
    from evaluator.reports.show import converted_text, latest_review

    if not converted:
        with reported():
            _, markdown = latest_review(db, case)
        sys.stdout.write(markdown if markdown.endswith("\n") else markdown + "\n")
        return
    with reported():
        document = converted_text(db, case, "requirements" if requirements else "design")
    if plain:
        sys.stdout.write(document.text)
        return
    err.print(
        f"{document.path} ({document.source_format}) as reviewed, converted by {document.converter}: "
        "markdown line, place in the source, text",
        markup=False,
    )
    width = max(len(where or "") for _, where, _ in document.lines())
    for number, where, line in document.lines():
        sys.stdout.write(f"{number:>5}  {(where or '·'):<{width}}  {line}\n")
