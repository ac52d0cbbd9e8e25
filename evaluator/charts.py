"""Charts of the report, drawn by matplotlib as small inline SVG.

matplotlib is imported inside :func:`_figure` so that ``evaluator --help`` and every other
command never pay for it. Text is kept as SVG ``<text>`` (``svg.fonttype = 'none'``), not
paths, which keeps a chart at a few kilobytes; math parsing is off, so a ``$`` in a model
name is just a dollar sign. matplotlib escapes ``<`` and ``&`` in the text it writes.
"""

from __future__ import annotations

import io
import itertools
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

COMPLETENESS = "#2563eb"
SOUNDNESS = "#ea580c"
_CHART_NUMBERS = itertools.count(1)
_RC: dict[str, Any] = {
    "svg.fonttype": "none",
    "svg.hashsalt": "evaluator-report",  # ids from a fixed salt, not random: the same store, the same charts
    "text.parse_math": False,
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans"],
    "font.size": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


@contextmanager
def _figure(width: float, height: float) -> Iterator[Figure]:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    with matplotlib.rc_context(_RC):  # type: ignore[arg-type]  # its stubs list the keys as literals
        yield Figure(figsize=(width, height))


def _svg(fig: Figure, title: str, *, tight: bool = True) -> str:
    """The figure as an ``<svg>`` element for inlining, with an accessible title."""
    buffer = io.StringIO()
    # A tight bounding box draws the figure twice; the many trend charts use fixed margins instead.
    bbox = "tight" if tight else None
    fig.savefig(buffer, format="svg", bbox_inches=bbox, metadata={"Date": None, "Creator": None})
    text = buffer.getvalue()
    text = text[text.index("<svg") :]  # drop the XML prolog and DOCTYPE: not allowed inside HTML
    text = re.sub(r"\s*<metadata>.*?</metadata>", "", text, flags=re.DOTALL)
    # Its <style> would apply to the whole page (the report's CSS has the rule once), and the
    # group ids repeat in every chart: ids must be unique in an HTML document.
    text = re.sub(r"\s*<defs>\s*<style[^>]*>[^<]*</style>\s*</defs>", "", text, count=1)
    text = re.sub(r'<g id="[^"]*"', "<g", text)
    # Markers and clip paths are shared by id; number them per chart so no two charts collide.
    text = re.sub(r'(id="|#)([a-z][0-9a-f]{10})\b', rf"\1c{next(_CHART_NUMBERS)}-\2", text)
    text = re.sub(r'(<svg[^>]*?) width="[^"]*" height="[^"]*"', r"\1", text, count=1)  # let CSS size it
    return text.replace(">", f' role="img" aria-label="{_attr(title)}">', 1)


def _attr(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")


def trend_chart(
    completeness: Sequence[float | None], soundness: Sequence[float | None], revisions: Sequence[int]
) -> str:
    """Both scores over a case's reviews; dotted lines where the design changed.

    No legend: the report colours the words completeness and soundness above each chart.
    """
    xs = list(range(1, len(completeness) + 1))
    with _figure(6.0, 1.7) as fig:
        ax = fig.add_subplot()
        marker = "o" if len(xs) <= 40 else None
        for values, colour in ((completeness, COMPLETENESS), (soundness, SOUNDNESS)):
            ax.plot(xs, [float("nan") if v is None else v for v in values], color=colour, marker=marker, ms=3, lw=1.4)
        for x in revisions:
            ax.axvline(x - 0.5, color="0.6", lw=0.8, ls=":")
        _score_axis(ax)
        ax.set_xlim(0.5, max(len(xs), 2) + 0.5)
        ax.set_xlabel("review (dotted line: new design revision)")
        ax.xaxis.set_major_locator(_integer_locator())
        fig.subplots_adjust(left=0.05, right=0.99, top=0.95, bottom=0.25)
        return _svg(fig, "score trend: completeness and technical soundness per review", tight=False)


def _score_axis(ax: Axes) -> None:
    ax.set_ylim(0, 10.4)
    ax.set_yticks([0, 5, 10])
    ax.grid(axis="y", color="0.9", lw=0.6)


def _integer_locator() -> Any:
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(integer=True, nbins=8)


def distribution_chart(assessments: dict[str, int], readiness: dict[str, int]) -> str:
    """Two horizontal bar charts: how many cases got each assessment and readiness."""
    with _figure(6.4, 1.9) as fig:
        for i, (title, counts) in enumerate((("overall assessment", assessments), ("readiness", readiness))):
            ax = fig.add_subplot(1, 2, i + 1)
            labels = list(counts)[::-1]
            bars = ax.barh(labels, [counts[k] for k in labels], color=COMPLETENESS if i == 0 else SOUNDNESS)
            ax.bar_label(bars, padding=2, fontsize=7)
            ax.set_title(title, fontsize=8)
            ax.xaxis.set_major_locator(_integer_locator())
            ax.set_xlim(0, max([*counts.values(), 1]) * 1.2)
        fig.tight_layout()
        return _svg(fig, "distribution of overall assessments and implementation readiness")


def comparison_chart(groups: Sequence[str], completeness: Sequence[float], soundness: Sequence[float]) -> str:
    """Mean scores side by side for each model, profile or prompt version."""
    with _figure(6.4, 0.5 + 0.35 * len(groups)) as fig:
        ax = fig.add_subplot()
        ys = range(len(groups))
        ax.barh([y + 0.2 for y in ys], completeness, height=0.38, color=COMPLETENESS, label="completeness")
        ax.barh([y - 0.2 for y in ys], soundness, height=0.38, color=SOUNDNESS, label="soundness")
        ax.set_yticks(list(ys), list(groups))
        ax.invert_yaxis()
        ax.set_xlim(0, 10)
        ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False, fontsize=7)  # never over a bar
        return _svg(fig, "mean completeness and technical soundness per group")
