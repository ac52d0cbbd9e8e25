"""Command-line adapter: options in, one library call, result out.

This module builds the Typer app and registers every command; the commands live in one
module per group (:mod:`.review`, :mod:`.batch`, :mod:`.store`, :mod:`.reports`,
:mod:`.status`, :mod:`.show`, :mod:`.coverage`, :mod:`.gate`, :mod:`.bench`, :mod:`.trace`) and share what they need
through :mod:`.common` and :mod:`.options`, never through this module. No SQL, templates or
model calls here. Expected failures arrive as EvaluatorError and are printed as one line on
stderr with a non-zero exit; anything else is a bug.
"""

from __future__ import annotations

from typing import Annotated

import typer

from evaluator.cli.batch import batch, calibrate, precision
from evaluator.cli.bench import bench
from evaluator.cli.coverage import coverage
from evaluator.cli.gate import gate
from evaluator.cli.help import plain_help_labels
from evaluator.cli.reports import report, trends
from evaluator.cli.review import convert, models, profiles, review
from evaluator.cli.show import show
from evaluator.cli.status import status
from evaluator.cli.store import export, ingest, sql
from evaluator.cli.trace import bench_trace, trace
from evaluator.version import __version__

app = typer.Typer(
    help="Offline reviews of technical design documents by a local GGUF model.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",  # help texts escape their brackets for it: \\[\\[case]]
)
plain_help_labels()

# In the order `evaluator --help` lists them.
for command in (review, profiles, models, convert, batch, calibrate, precision, sql, export, trends, report, ingest):
    app.command()(command)
app.command(name="status")(status)
app.command(name="show")(show)
app.command(name="coverage")(coverage)
app.command(name="gate")(gate)
app.command()(bench)
app.command(name="trace")(trace)
app.command(name="bench-trace")(bench_trace)


def _version(value: bool) -> None:
    if value:
        print(f"evaluator {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """Offline reviews of technical design documents by a local GGUF model."""
    from evaluator.offline import enforce_offline

    enforce_offline()  # before any command imports a library that could reach a hub


def main() -> None:
    """Entry point of the ``evaluator`` command and ``python -m evaluator``."""
    app(prog_name="evaluator")
