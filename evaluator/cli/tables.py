"""Tables on standard output that never cut a value (used by evaluator.cli.output).

On a terminal rich fits a table to the window, folding or shortening cells. Piped or
redirected there is no window: the table is printed as wide as its longest cells, so a
user who sends a query to a file or another program gets every value whole.
"""

from __future__ import annotations

from rich.console import Console, RenderableType
from rich.measure import Measurement
from rich.table import Table

_UNBOUNDED = 1_000_000


def stdout_console(*renderables: RenderableType) -> Console:
    """A console for stdout: the terminal's width on a terminal, else wide enough for every renderable."""
    console = Console(highlight=False)
    if console.is_terminal:
        return console
    unbounded = console.options.update_width(_UNBOUNDED)  # measured against 80 columns, a table would fit them
    widest = max((Measurement.get(console, unbounded, r).maximum for r in renderables), default=80)
    return Console(highlight=False, width=max(widest, 80), soft_wrap=False)


def print_tables(*tables: Table) -> None:
    """Print ``tables`` on stdout without cutting a value when stdout is not a terminal."""
    for table in tables:
        if not Console().is_terminal:  # a folded cell is a cut value once it leaves the screen
            for column in table.columns:
                column.no_wrap, column.overflow = True, "ignore"
    console = stdout_console(*tables)
    for table in tables:
        console.print(table)
