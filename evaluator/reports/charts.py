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

    Drawn by hand, not by matplotlib: a report has one per case, and at 10,000 cases
    matplotlib's ~40 ms and ~9 KB per chart would be minutes and 90 MB; this is
    microseconds and under 1 KB. Only numbers go into it, so nothing needs escaping.
    No legend: the report colours the words completeness and soundness above each chart.
    """
    n = max(len(completeness), 2)
    left, width, top, height = 26.0, 560.0, 6.0, 70.0

    def x(i: int) -> float:  # i counts from 1, as the points do
        return left + (i - 1) * width / (n - 1)

    def y(v: float) -> float:
        return top + height * (1 - v / 10)

    parts = [f'<line x1="{left}" x2="{left + width}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#e5e7eb"/>'
             f'<text x="{left - 6}" y="{y(v) + 3:.1f}" text-anchor="end">{v}</text>' for v in (0, 5, 10)]  # fmt: skip
    parts += [f'<line x1="{x(i) - width / (n - 1) / 2:.1f}" x2="{x(i) - width / (n - 1) / 2:.1f}" y1="{top}" '
              f'y2="{top + height}" stroke="#9ca3af" stroke-dasharray="2 2"/>' for i in revisions]  # fmt: skip
    for values, colour in ((completeness, COMPLETENESS), (soundness, SOUNDNESS)):
        points = [(x(i), y(v)) for i, v in enumerate(values, 1) if v is not None]
        line = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
        parts.append(f'<polyline points="{line}" fill="none" stroke="{colour}" stroke-width="1.5"/>')
        if len(values) <= 40:
            parts += [f'<circle cx="{px:.1f}" cy="{py:.1f}" r="2" fill="{colour}"/>' for px, py in points]
    label = "score trend: completeness and technical soundness per review"
    return (
        f'<svg viewBox="0 0 600 96" role="img" aria-label="{label}" font-size="9" fill="#6b7280">'
        f'<text x="{left + width / 2}" y="94" text-anchor="middle">review (dotted line: new design revision)</text>'
        + "".join(parts)
        + "</svg>"
    )


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
