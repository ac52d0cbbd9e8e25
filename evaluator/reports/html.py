"""The score-trend report: self-contained HTML, safe to open and to mail around.

Up to :data:`PAGE_CASES` cases it is one file. Beyond, the file named by the user is the
first page (summary, comparisons, findings, the first cases and a list of every page) and
the cases, :data:`PAGE_CASES` to a page with their trends and latest reviews, go into a
folder beside it (``report_files/page-0001.html`` …), linked both ways with relative links:
the folder opens offline from disk, without a server, and the first page stays small at
any number of cases (a list entry of ~150 bytes per page of cases).

Everything is inline: styles, charts as SVG (see :mod:`evaluator.reports.charts`), every latest
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
from markdown_it_pyrs import MarkdownIt
from markupsafe import Markup, escape

import evaluator.reports.charts as charts
import evaluator.reports.data as data
import evaluator.reports.lifecycle as lifecycle
from evaluator.errors import ReportError
from evaluator.outputs import check_output_file
from evaluator.review.record import ASSESSMENTS, READINESS
from evaluator.store import require_database, snapshot
from evaluator.version import __version__

TABLE_ROWS = 20  # per case; older points stay in the chart, so the file stays small
PAGE_CASES = 100  # cases per page; a store with at most this many gets one file
# CommonMark + tables, without raw HTML (html_block/html_inline), images or link autodetection: any
# markup in a review is shown as text. The Rust renderer: ~20x markdown-it-py, 10,000 reviews in seconds.
_MARKDOWN = MarkdownIt("zero").enable_many(
    ["blockquote", "code", "fence", "heading", "hr", "lheading", "list", "paragraph", "reference",
     "autolink", "backticks", "emphasis", "entity", "escape", "link", "newline", "table"]
)  # fmt: skip


@dataclass(frozen=True)
class ReportResult:
    """What was written: the first page, and the pages of cases in ``folder`` (None: one file)."""

    path: Path
    cases: int
    reviews: int
    size_bytes: int  # of the first page
    folder: Path | None = None
    pages: int = 0
    total_bytes: int = 0  # of every file written


def write_report(db: Path, output: Path, scope: data.Scope | None = None) -> ReportResult:
    """Build the report of ``db`` (limited to ``scope``) and write it to ``output`` (and a folder beside it).

    Raises StoreError (no database), OutputError (``output`` cannot be written), ReportError (nothing
    in scope, or the files cannot be written).
    """
    folder = output.with_name(f"{output.stem}_files")
    require_database(db)
    check_output_file(output, "report")  # before the store is read: a large report takes minutes
    files, cases, reviews = _files(db, scope or data.Scope(), output.name, folder.name)
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        if len(files) > 1:
            folder.mkdir(exist_ok=True)
            for stale in folder.glob("page-*.html"):  # a previous, longer report's pages
                stale.unlink()
        sizes = {}
        for name, html in files.items():
            path = output.parent / name
            path.write_text(html, encoding="utf-8")
            sizes[name] = path.stat().st_size
    except OSError as exc:
        raise ReportError(f"cannot write the report to {output}: {exc.strerror or exc}") from None
    return ReportResult(
        output, cases, reviews, sizes[output.name], folder if len(files) > 1 else None,
        len(files) - 1, sum(sizes.values()),
    )  # fmt: skip


def render_report(db: Path, scope: data.Scope | None = None) -> str:
    """The report of ``db`` as one HTML string: its first page, which is all of it up to PAGE_CASES cases."""
    files, _, _ = _files(db, scope or data.Scope(), "report.html", "report_files")
    return files["report.html"]


def _files(db: Path, scope: data.Scope, index_name: str, folder_name: str) -> tuple[dict[str, str], int, int]:
    """Every file of the report by path relative to the first page's folder (the first page first),
    the number of cases and the number of reviews."""
    with snapshot(db):  # one state of the store, even while a batch writes it
        context = _context(db, scope)
    cases: list[data.CaseData] = context["cases"]
    env = _environment()
    chunks = [cases[i : i + PAGE_CASES] for i in range(0, len(cases), PAGE_CASES)]
    names = [f"{folder_name}/page-{k:04d}.html" for k in range(1, len(chunks) + 1)] if len(chunks) > 1 else [""]
    pages = [
        {"href": name, "start": k * PAGE_CASES + 1, "end": k * PAGE_CASES + len(chunk),
         "first": chunk[0].key, "last": chunk[-1].key}
        for k, (name, chunk) in enumerate(zip(names, chunks, strict=True))
    ] if len(chunks) > 1 else []  # fmt: skip
    context["review_hrefs"] = {c.key: f"{names[i // PAGE_CASES]}#review-{i + 1}" for i, c in enumerate(cases)}
    files: dict[str, str] = {}
    first: list[dict[str, Any]] = []
    for k, chunk in enumerate(chunks):
        views = [_case_view(c, k * PAGE_CASES + i + 1, context) for i, c in enumerate(chunk)]
        first = first or [
            {**v, "href": names[0] + v["href"], "review_href": names[0] + v["review_href"]} for v in views
        ]
        if pages:
            neighbours = {"previous": _sibling(names, k - 1), "next": _sibling(names, k + 1)}
            page = {**context, **neighbours, "listed": views, "page": pages[k], "total_cases": len(cases),
                    "index": f"../{index_name}"}  # fmt: skip
            files[names[k]] = env.get_template("page.html.j2").render(**page)
    index = {**context, "listed": first, "pages": pages, "page_size": PAGE_CASES, "folder": f"{folder_name}/"}
    files = {index_name: env.get_template("report.html.j2").render(**index), **files}
    return files, len(cases), context["reviews"]


def _sibling(names: list[str], k: int) -> str | None:
    return names[k].rsplit("/", 1)[-1] if 0 <= k < len(names) else None


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("evaluator.reports", "templates"),
        autoescape=True,  # every value from the store is untrusted text
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(score=_score, change=_change, when=_when, short=_short, delta=_delta)
    return env


def _context(db: Path, scope: data.Scope) -> dict[str, Any]:
    require_database(db)
    ok, failed, runs = data.counts(db, scope)
    if ok + failed == 0:
        raise ReportError(
            _nothing_message(db, scope), settings=("since", "cases") if scope.since or scope.cases else ()
        )
    cases = data.cases(db, scope)
    return {
        "db": db.name,
        "scope": _describe(scope),
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "version": __version__,
        "run": data.latest_run(db, scope),
        "reviews": ok,
        "failed_attempts": failed,
        "runs": runs,
        "cases": cases,
        "failing": data.failing(db, scope),
        "distribution": _distribution(cases),
        "findings": data.frequent_critical_findings(db, scope),
        "comparisons": _comparisons(db, scope),
        "lifecycles": lifecycle.lifecycles(db, scope),
        "waived": lifecycle.waived(db, scope),
    }


def _nothing_message(db: Path, scope: data.Scope) -> str:
    if scope.since or scope.cases:
        return f"no reviews in {db} match {_describe(scope)} — widen the date or the case patterns"
    return f"the database {db} holds no reviews yet — run a batch or ingest reviews into it first"


def _describe(scope: data.Scope) -> str:
    parts = [f"since {scope.since:%Y-%m-%d %H:%M}"] if scope.since else []
    parts += [f"cases matching {', '.join(scope.cases)}"] if scope.cases else []
    return "; ".join(parts) or "all reviews"


def _case_view(case: data.CaseData, anchor: int, context: dict[str, Any]) -> dict[str, Any]:
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
        "href": f"#case-{anchor}",
        "review_href": f"#review-{anchor}",
        "key": case.key,
        "title": case.title,
        "latest": case.latest,
        "count": len(rows),
        "revisions": len(revisions),
        "unrecorded": sum(not row.design_sha256 for row in rows),  # ingested: the design is not known
        "rows_html": _rows_html([(row, revisions.get(row.design_sha256 or "")) for row in rows[-TABLE_ROWS:]][::-1]),
        "hidden": max(0, len(rows) - TABLE_ROWS),
        "chart": chart,
        "review_html": markdown_html(case.markdown),
        "coverage_html": _coverage_html(case.coverage),
        **_history_view(context["lifecycles"].get(case.key)),
        "waived_html": _waived_html(context["waived"].get(case.key, [])),
        "latest_at": case.latest_at,
        "latest_model": case.latest_model,
        "latest_profile": case.latest_profile,
    }


def _coverage_html(rows: list[data.CoverageRow]) -> Markup:
    """The latest review's requirement traceability as table rows, escaped (built here for speed)."""
    return Markup(
        "\n".join(
            f'<tr class="{escape(r.status)}"><td class="key">{escape(r.requirement_id)}</td>'
            f'<td>{escape(r.status.replace("_", " "))}</td><td class="n">{r.line_start or "–"}</td>'
            f"<td>{escape(r.text)}</td></tr>"
            for r in rows
        )
    )


def _history_view(history: lifecycle.Lifecycle | None) -> dict[str, Any]:
    """A case's findings by revision (new / persisting / resolved) and the latest revision's lists, escaped."""
    if history is None or not history.steps:
        return {"history_html": Markup(""), "history_lists": Markup(""), "history_revisions": 0}
    rows = "\n".join(
        f'<tr><td class="n">r{s.revision}</td><td class="n">{_when(s.at)}</td><td class="n">{s.new}</td>'
        f'<td class="n">{s.persisting}</td><td class="n">{s.resolved}</td></tr>'
        for s in history.steps[-TABLE_ROWS:][::-1]
    )
    latest = history.latest.revision
    heads = {"new": f"new in r{latest}", "persisting": "persisting", "resolved": f"resolved by r{latest}"}
    lists = []
    for state in lifecycle.STATES:
        found = history.of(state)
        if found:
            items = "".join(f"<li>{_tracked_html(f)}</li>" for f in found)
            lists.append(f'<p class="{state}">{heads[state]} ({len(found)})</p><ul class="{state}">{items}</ul>')
    return {"history_html": Markup(rows), "history_lists": Markup("\n".join(lists)), "history_revisions": latest}


def _tracked_html(f: lifecycle.Tracked) -> str:
    since = ""
    if f.state == "persisting":
        since = f' <span class="muted">since r{f.first_revision}, {f.revisions} revisions</span>'
    return f'[{escape(f.severity)}] {escape(f.title)}{since} <code class="muted">{escape(f.fingerprint)}</code>'


def _waived_html(rows: list[lifecycle.Waived]) -> Markup:
    """The waived findings of a case's latest review, with who accepted them, why and until when (escaped)."""
    return Markup(
        "".join(
            f'<li>[{escape(w.severity)}] {escape(w.title)} <code class="muted">{escape(w.fingerprint)}</code> — '
            f'{escape(w.justification)} <span class="muted">(approved by {escape(w.approved_by)}, '
            f"until {w.expires:%Y-%m-%d})</span></li>"
            for w in rows
        )
    )


def _rows_html(rows: list[tuple[data.TrendRow, int | None]]) -> Markup:
    """A case's review table rows. Built here, not in the template: a large report has 100,000 of
    them and Jinja's per-value overhead made them most of its time. Text is escaped; numbers need not be."""
    html = []
    for row, revision in rows:
        rev = (
            f'r{revision} <code class="muted">{escape(row.design_sha256[:8])}</code>'
            if revision and row.design_sha256
            else "–"
        )
        html.append(
            f'<tr><td class="n">{row.point}</td><td class="n">{_when(row.created_at)}</td><td>{escape(row.model)}</td>'
            f'<td>{rev}</td><td class="n">{_score(row.completeness)} {_delta(row.completeness_change)}</td>'
            f'<td class="n">{_score(row.soundness)} {_delta(row.soundness_change)}</td>'
            f"<td>{escape(row.assessment or '–')}</td></tr>"
        )
    return Markup("\n".join(html))


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
    html = _MARKDOWN.render(_without_footer(text))
    # Raw HTML never gets through, so every <hN> is the renderer's: the review's h1 sits under the report's h2.
    # Highest level first, so a heading moved down is not moved again.
    for level in (5, 4, 3, 2, 1):
        to = min(6, level + 2)
        html = html.replace(f"<h{level}>", f"<h{to}>").replace(f"</h{level}>", f"</h{to}>")
    return Markup(html)


def _without_footer(text: str) -> str:
    """The review without our provenance comment on its last line (it is shown as a meta line instead)."""
    head, _, last = text.rstrip().rpartition("\n")
    return head.rstrip("\n") if last.startswith("<!--") and last.endswith("-->") else text


def _score(value: float | None) -> str:
    return "–" if value is None else f"{value:g}"


def _change(value: float | None) -> str:
    if value is None:
        return ""
    return "±0" if value == 0 else f"{value:+g}".replace("-", "−")


def _delta(value: float | None) -> Markup:
    """' (+2)' coloured by direction, or nothing: a filter, not a macro, as a large report calls it 200,000 times."""
    if value is None:
        return Markup("")
    css = "up" if value > 0 else "down" if value < 0 else "muted"
    return Markup(f' <span class="{css}">({_change(value)})</span>')


def _when(value: datetime | None) -> str:
    return "–" if value is None else f"{value:%Y-%m-%d %H:%M}"


def _short(value: str | None) -> str:
    """Prompt hashes and model sha-like names are long; 12 characters tell them apart."""
    if value is None:
        return "–"
    return value[:12] if re.fullmatch(r"[0-9a-f]{16,}", value) else value
