"""The score-trend report: one self-contained HTML file, safe to open and to mail around.

Everything is inline: styles, charts as SVG (see :mod:`evaluator.charts`), every latest
review rendered from markdown. There is no script and nothing is fetched from a network.
Text from documents and models is untrusted: the Jinja environment escapes everything, and
reviews go through markdown-it with raw HTML and images disabled, so a ``<script>`` in a
design title or a finding is shown as text and never runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markdown_it import MarkdownIt
from markupsafe import Markup

from evaluator import __version__, charts
from evaluator import report_data as data
from evaluator.errors import ReportError
from evaluator.review import ASSESSMENTS, READINESS
from evaluator.store import require_database

TABLE_ROWS = 20  # per case; older points stay in the chart, so the file stays small
_FOOTER = re.compile(r"\n*<!--[^\n]*-->\s*$")  # our own provenance comment, shown as a meta line instead


@dataclass(frozen=True)
class ReportResult:
    """What was written."""

    path: Path
    cases: int
    reviews: int
    size_bytes: int


def write_report(db: Path, output: Path, scope: data.Scope | None = None) -> ReportResult:
    """Build the report of ``db`` (limited to ``scope``) and write it to ``output``."""
    context = _context(db, scope or data.Scope())
    html = _render(context)
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(html, encoding="utf-8")
    except OSError as exc:
        raise ReportError(f"cannot write the report to {output}: {exc.strerror or exc}") from None
    return ReportResult(output, len(context["cases"]), context["reviews"], len(html.encode("utf-8")))


def render_report(db: Path, scope: data.Scope | None = None) -> str:
    """The report of ``db`` as one HTML string."""
    return _render(_context(db, scope or data.Scope()))


def _render(context: dict[str, Any]) -> str:
    return _environment().get_template("report.html.j2").render(**context)


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("evaluator", "templates"),
        autoescape=True,  # every value from the store is untrusted text
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(score=_score, change=_change, when=_when, short=_short)
    return env


def _context(db: Path, scope: data.Scope) -> dict[str, Any]:
    require_database(db)
    ok, failed, runs = data.counts(db, scope)
    if ok + failed == 0:
        raise ReportError(
            _nothing_message(db, scope), settings=("since", "cases") if scope.since or scope.cases else ()
        )
    cases = data.cases(db, scope)
    anchors = {case.key: i for i, case in enumerate(cases, 1)}
    return {
        "db": db.name,
        "scope": _describe(scope),
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "version": __version__,
        "run": data.latest_run(db, scope),
        "reviews": ok,
        "failed_attempts": failed,
        "runs": runs,
        "cases": [_case_view(case, anchors[case.key]) for case in cases],
        "anchors": anchors,
        "failing": data.failing(db, scope),
        "distribution": _distribution(cases),
        "findings": data.frequent_critical_findings(db, scope),
        "comparisons": _comparisons(db, scope),
    }


def _nothing_message(db: Path, scope: data.Scope) -> str:
    if scope.since or scope.cases:
        return f"no reviews in {db} match {_describe(scope)} — widen the date or the case patterns"
    return f"the database {db} holds no reviews yet — run a batch or ingest reviews into it first"


def _describe(scope: data.Scope) -> str:
    parts = [f"since {scope.since:%Y-%m-%d %H:%M}"] if scope.since else []
    parts += [f"cases matching {', '.join(scope.cases)}"] if scope.cases else []
    return "; ".join(parts) or "all reviews"


def _case_view(case: data.CaseData, anchor: int) -> dict[str, Any]:
    rows = case.rows
    revisions: dict[str, int] = {}
    for row in rows:
        if row.design_sha256:
            revisions.setdefault(row.design_sha256, len(revisions) + 1)
    chart = None  # a single point is no trend: the card says so instead of drawing an empty chart
    if len(rows) > 1:
        scores = [r.completeness for r in rows], [r.soundness for r in rows]
        chart = Markup(charts.trend_chart(*scores, case.revision_starts()))  # matplotlib escapes its text
    return {
        "anchor": anchor,
        "key": case.key,
        "title": case.title,
        "latest": case.latest,
        "count": len(rows),
        "revisions": len(revisions),
        "rows": [(row, revisions.get(row.design_sha256 or "")) for row in rows[-TABLE_ROWS:]][::-1],
        "hidden": max(0, len(rows) - TABLE_ROWS),
        "chart": chart,
        "review_html": markdown_html(case.markdown),
        "latest_at": case.latest_at,
        "latest_model": case.latest_model,
        "latest_profile": case.latest_profile,
    }


def _distribution(cases: list[data.CaseData]) -> dict[str, Any]:
    assessments = _tally([c.latest.assessment for c in cases], ASSESSMENTS)
    readiness = _tally([c.latest.readiness for c in cases], READINESS)
    return {
        "assessments": assessments,
        "readiness": readiness,
        "chart": Markup(charts.distribution_chart(assessments, readiness)),
    }


def _tally(values: list[str | None], known: tuple[str, ...]) -> dict[str, int]:
    """Counts in the known order, then any other value (ingested reviews), then unknown."""
    counts = {k: 0 for k in known}
    for value in values:
        key = value or "not stated"
        counts[key] = counts.get(key, 0) + 1
    return counts


def _comparisons(db: Path, scope: data.Scope) -> list[dict[str, Any]]:
    """One table and chart per dimension (model, prompt version, profile) with several values."""
    views = []
    for label, column in data.COMPARED.items():
        groups = data.comparison(db, scope, column)
        if len(groups) < 2:
            continue
        names = [_short(g.name) for g in groups]
        chart = charts.comparison_chart(
            names, [g.completeness or 0 for g in groups], [g.soundness or 0 for g in groups]
        )
        views.append({"label": label, "groups": groups, "chart": Markup(chart)})
    return views


def markdown_html(text: str) -> Markup:
    """A review's markdown as HTML: raw HTML is escaped, images are not loaded, headings are demoted."""
    md = MarkdownIt("commonmark", {"html": False}).enable("table").disable("image")
    tokens = md.parse(_FOOTER.sub("", text))
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(6, int(token.tag[1]) + 2)}"  # the review's h1 sits under the report's h2
    return Markup(md.renderer.render(tokens, md.options, {}))


def _score(value: float | None) -> str:
    return "–" if value is None else f"{value:g}"


def _change(value: float | None) -> str:
    if value is None:
        return ""
    return "±0" if value == 0 else f"{value:+g}".replace("-", "−")


def _when(value: datetime | None) -> str:
    return "–" if value is None else f"{value:%Y-%m-%d %H:%M}"


def _short(value: str | None) -> str:
    """Prompt hashes and model sha-like names are long; 12 characters tell them apart."""
    if value is None:
        return "–"
    return value[:12] if re.fullmatch(r"[0-9a-f]{16,}", value) else value
