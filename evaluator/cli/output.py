"""Terminal output of the commands: progress, summaries and tables (rich lives here, not in the core)."""

from __future__ import annotations

import csv
import json
import signal
import sys
from dataclasses import asdict
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeRemainingColumn
from rich.table import Column, Table
from rich.text import Text

from evaluator.batch.calibration import Calibration
from evaluator.batch.calibration import report as calibration_report
from evaluator.batch.capacity import Capacity
from evaluator.batch.cases import Case
from evaluator.batch.plan import BatchObserver, BatchSummary, CaseOutcome
from evaluator.cli.tables import print_tables
from evaluator.reports.lifecycle import STATES, Lifecycle
from evaluator.reports.trends import Trend
from evaluator.review.record import Review, Usage

if TYPE_CHECKING:  # the bench pulls in numpy; batch, sql and trends should not pay for it
    from evaluator.batch.precision import Precision
    from evaluator.bench.local import BenchReport
    from evaluator.bench.server import ServerBenchReport
    from evaluator.ingest.reviews import Ingested
    from evaluator.reports.gate import GateResult


class StopFlag:
    """First Ctrl-C: start no new case and let those under way finish. Second Ctrl-C: stop at once."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._set = False
        self._previous: Any = None

    def __enter__(self) -> StopFlag:
        self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        signal.signal(signal.SIGINT, self._previous)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self._set:
            raise KeyboardInterrupt
        self._set = True
        self._console.print(
            "[yellow]starting no new case; the ones under way finish — press Ctrl-C again to stop now[/]"
        )

    def is_set(self) -> bool:
        """Whether a stop was asked for."""
        return self._set


class BatchProgress(BatchObserver):
    """A progress bar with count, current case, pass and ETA."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        )
        self._task = self._progress.add_task("planning", total=None)
        self._running: list[str] = []  # cases in flight, oldest first

    def __enter__(self) -> BatchProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def planned(self, total: int, todo: int) -> None:
        self._console.print(f"{total} cases: {todo} to review, {total - todo} already done or skipped")
        self._progress.update(self._task, total=todo, completed=0)

    def capacity(self, capacity: Capacity) -> None:
        self._console.print(capacity.describe())

    def started(self, case: Case) -> None:
        self._running.append(case.key)
        self._describe()

    def step(self, message: str) -> None:
        self._describe(message)

    def _describe(self, message: str = "") -> None:
        running = self._running
        text = running[0] if len(running) == 1 else f"{len(running)} in flight: {', '.join(running)}"
        self._progress.update(self._task, description=f"{text} · {message}" if message else text)

    def waiting(self, message: str) -> None:
        self._console.print(f"[yellow]{escape(message)}[/]")

    def finished(self, outcome: CaseOutcome) -> None:
        key = outcome.case.key
        if outcome.status == "ok" and outcome.review:
            r = outcome.review
            completeness = "not assessed" if r.completeness_score is None else f"{r.completeness_score:g}/10"
            self._console.print(
                f"[green]✓[/] {key}: {r.overall_assessment}, completeness {completeness}, "
                f"soundness {r.technical_soundness_score:g}/10"
            )
        elif outcome.status == "failed":
            self._console.print(f"[red]✗[/] {key}: {outcome.message}", soft_wrap=True)
        elif outcome.status == "skipped":
            self._console.print(f"[yellow]-[/] {key}: skipped, {outcome.message}")
        if key in self._running:  # not a case that failed or was skipped while planning
            self._running.remove(key)
            self._progress.advance(self._task)
            self._describe()


def print_summary(console: Console, summary: BatchSummary, db: Path) -> None:
    """The final table: cases, ok, failed, skipped, tokens, time, docs/hour."""
    table = Table(title="batch summary")
    for column in ("cases", "ok", "failed", "skipped", "tokens", "time", "docs/hour"):
        table.add_column(column, justify="right")
    skipped = summary.count("skipped") + summary.count("cached")
    table.add_row(
        str(len(summary.outcomes)),
        str(summary.count("ok")),
        str(summary.count("failed")),
        str(skipped),
        f"{summary.tokens:,}",
        f"{summary.seconds:.0f} s",
        f"{summary.docs_per_hour:.1f}",
    )
    console.print(table)
    if summary.interrupted:
        console.print("[yellow]interrupted[/] — finished reviews are saved; run the same command again to resume")
    console.print(f'results in {db} — try: evaluator sql "SELECT * FROM latest_reviews" --db {db}')


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def print_rows(columns: list[str], rows: list[tuple[Any, ...]], fmt: str) -> None:
    """Query results as a table, CSV or JSON on stdout."""
    if fmt == "json":
        json.dump([{c: _plain(v) for c, v in zip(columns, row, strict=True)} for row in rows], sys.stdout, indent=2)
        sys.stdout.write("\n")
    elif fmt == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")  # LF: shell scripts read it line by line
        writer.writerow(columns)
        writer.writerows([[_plain(v) for v in row] for row in rows])
    else:
        # Text, not markup: a stored '[red]' or '[/]' is a value to show, not a style.
        table = Table(*(Column(header=Text(c)) for c in columns))
        for row in rows:
            table.add_row(*(Text("" if v is None else str(_plain(v))) for v in row))
        print_tables(table)


def print_trends(series: list[Trend], by: str, fmt: str, history: dict[str, Lifecycle] | None = None) -> None:
    """Score trends as a table with bars, or JSON; by case, with what the latest revision changed."""
    history = history or {}
    if fmt == "json":
        data = [
            {
                "key": t.key,
                "points": [
                    {"at": p.at.isoformat(), "completeness": p.completeness, "soundness": p.soundness, "label": p.label}
                    for p in t.points
                ],
                "completeness_change": t.change("completeness"),
                "soundness_change": t.change("soundness"),
                **({"lifecycle": lifecycle_json(history[t.key])} if t.key in history else {}),
            }
            for t in series
        ]
        json.dump(data, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return
    table = Table("n", "completeness", "soundness")
    # The key identifies the series: never fold it; the other cells give way first.
    table.columns.insert(0, Column(by, no_wrap=True, min_width=max((len(t.key) for t in series), default=4)))
    if history:
        for name in ("revision", *STATES):
            table.add_column(name, justify="right")
    for t in series:
        cells: list[Text | str] = [Text(t.key), str(len(t.points)), _cell(t, "completeness"), _cell(t, "soundness")]
        if history:
            cells += _lifecycle_cells(history.get(t.key))
        table.add_row(*cells)
    print_tables(table)
    _print_changes(series, history)


def lifecycle_json(lifecycle: Lifecycle) -> dict[str, Any]:
    """A case's revisions (counts per state) and its latest revision's findings with their state."""
    return {
        "revisions": [{**asdict(s), "at": s.at.isoformat()} for s in lifecycle.steps],
        "findings": [asdict(f) for f in lifecycle.findings],
    }


def _lifecycle_cells(lifecycle: Lifecycle | None) -> list[str]:
    if lifecycle is None or not lifecycle.steps:
        return ["-"] * 4
    latest = lifecycle.latest
    return [str(latest.revision), str(latest.new), str(latest.persisting), str(latest.resolved)]


def _print_changes(series: list[Trend], history: dict[str, Lifecycle]) -> None:
    """Under the table, what each case's latest revision (from the second on) brought and resolved."""
    lines = []
    for t in series:
        lifecycle = history.get(t.key)
        if lifecycle is None or not lifecycle.steps or lifecycle.latest.revision < 2:
            continue
        for f in lifecycle.of("new") + lifecycle.of("resolved"):
            lines.append(f"{t.key} r{lifecycle.latest.revision}: {f.state} [{f.severity}] {f.title}")
    if lines:
        console = Console(highlight=False, soft_wrap=True)
        console.print("\nchanged by the latest revision:", markup=False)
        for line in lines:
            console.print(f"  {line}", markup=False)


def _cell(trend: Trend, attribute: str) -> str:
    """Bars, then the latest score and the change since the previous review: '▃▅ 6 (+2)'."""
    latest = getattr(trend.points[-1], attribute)
    change = trend.change(attribute)
    shown = "not assessed" if latest is None and attribute == "completeness" else _num(latest)
    text = f"{trend.spark(attribute)} {shown}"
    return text + (f" ({change:+.3g})" if change is not None else "")


def _num(value: float | None, spec: str = ".3g") -> str:
    return "-" if value is None else format(value, spec)


def print_bench(report: BenchReport) -> None:
    """The bench figures and the ratios the targets are stated in."""
    title = f"bench: {report.model}, n_ctx {report.n_ctx}, {report.threads} thread(s), parallel {report.parallel}"
    table = Table("figure", "value", title=title)
    rows = [
        (f"raw prompt processing, {n} thread(s)", f"{v:.1f} tok/s") for n, v in sorted(report.raw_prompt_tps.items())
    ]
    rows += [(f"raw generation, {n} thread(s)", f"{v:.1f} tok/s") for n, v in sorted(report.raw_generation_tps.items())]
    rows += [
        (f"raw generation, {n} sequence(s) together (total)", f"{v:.1f} tok/s")
        for n, v in sorted(report.raw_batched_tps.items())
    ]
    naive = report.naive_seconds_per_case
    memory = (report.peak_rss_bytes, report.model_bytes, report.kv_cache_bytes)
    grammar = (report.grammar_generation_tps, report.full_check_generation_tps, report.plain_generation_tps)
    rows += [
        (
            "generation: sample-first grammar / full check / no grammar",
            " / ".join(f"{v:.1f}" for v in grammar) + " tok/s",
        ),
        (f"pipeline generation, median of {report.cases} cases", f"{report.pipeline_generation_tps:.1f} tok/s"),
        ("pipeline prompt tokens (from cache)", f"{report.prompt_tokens:,} ({report.cached_tokens:,})"),
        ("share of one-at-a-time review time spent on prompts", f"{report.prompt_share:.0%}"),
        ("shared prefix: instructions + requirements", f"{report.shared_prefix_tokens:,} tokens"),
        (
            f"seconds per case: one at a time / {report.parallel} together / naive CLI",
            f"{report.pipeline_seconds_per_case:.1f} / {report.batched_seconds_per_case:.1f} / " + _num(naive),
        ),
        (f"completion tokens/s of the batch, {report.parallel} together", f"{report.batched_completion_tps:.1f}"),
        ("peak RSS / model file / KV cache", " / ".join(f"{b / 2**20:.0f}" for b in memory) + " MiB"),
    ]
    rows += [(f"ratio: {name}", "-" if v is None else f"{v:.2f}") for name, v in report.ratios().items()]
    for row in rows:
        table.add_row(*row)
    print_tables(table)


def print_calibration(calibration: Calibration, fmt: str) -> None:
    """The per-case table and the metrics table on stdout, or the report as JSON."""
    if fmt == "json":
        json.dump(calibration_report(calibration), sys.stdout, indent=2)
        sys.stdout.write("\n")
        return
    print_tables(_cases_table(calibration), _metrics_table(calibration))
    if calibration.batch.interrupted:
        Console().print("[yellow]interrupted[/] — not recorded; run the same command again to resume")


def print_precision(result: Precision, fmt: str) -> None:
    """Per-case verdict counts and the totals on stdout, or the report as JSON."""
    from evaluator.batch.precision import precision_report

    if fmt == "json":
        json.dump(precision_report(result), sys.stdout, indent=2)
        sys.stdout.write("\n")
        return
    table = Table("approved", "assessment", "blocking", "supported", "false", "unjudged")
    width = max((len(c.key) for c in result.cases), default=4)
    table.columns.insert(0, Column("case", no_wrap=True, min_width=width))
    table.title = f"precision on {result.dataset}"
    for c in result.cases:
        table.add_row(Text(c.key), _yes(c.approved), c.assessment or "-", str(len(c.findings)),
                      str(c.count("supported")), str(c.count("false")), str(c.count("unjudged")))  # fmt: skip
    rework = ", ".join(result.approved_rework) or "none"
    verdicts = " / ".join(str(result.total(v)) for v in ("supported", "false", "unjudged"))
    figures = Table("figure", "value", title="precision of critical + recommendation findings")
    for name, value in (
        ("precision (supported / judged)", _share(result.precision)),
        ("supported / false / not judged", verdicts),
        ("quote shows it, or absence tied to a requirement", f"{result.shown} of {result.blocking}"),
        ("approved designs judged 'Requires Rework'", rework),
    ):
        figures.add_row(name, value)
    print_tables(table, figures)


def _cases_table(c: Calibration) -> Table:
    table = Table("expected", "status", "completeness", "soundness", "matched", "missed", "unmatched")
    # The case names the row: never fold it; the other cells give way first.
    width = max((len(r.labelled.case.key) for r in c.results), default=4)
    table.columns.insert(0, Column("case", no_wrap=True, min_width=width))
    table.title = f"calibration of {c.run['model_name']} · {c.run['profile']} · prompts {c.run['prompt_hash']}"
    for r in c.results:
        missed = ", ".join(m.defect.id for m in r.matches if not m.matched) or "-"
        table.add_row(
            Text(r.labelled.case.key),
            r.labelled.labels.expected,
            r.review.status,
            _num(r.review.completeness),
            _num(r.review.soundness),
            f"{sum(m.matched for m in r.matches)}/{len(r.matches)}",
            missed,
            str(r.unmatched),
        )
    return table


def _metrics_table(c: Calibration) -> Table:
    m = c.metrics
    table = Table("metric", "value", title=f"{Path(c.dataset).name}: {m.cases} of {c.labelled} labelled cases")
    sources = ", ".join(f"{k} {v}" for k, v in sorted(m.matched_by_source.items())) or "-"
    sound = m.sound_findings
    rows = [
        ("defect recall", f"{_share(m.recall)} ({m.matched}/{m.defects})"),
        (
            "critical + recommendation recall",
            f"{_share(m.blocking_recall)} ({m.blocking_matched}/{m.blocking_defects})",
        ),
        (
            "… by a finding on the broken requirement",
            f"{_share(m.strict_blocking_recall)} ({m.blocking_on_requirement}/{m.blocking_defects})",
        ),
        ("defects matched, by finding source", sources),
        (
            "findings on sound designs",
            f"{sound.get('critical', 0)} critical, {sound.get('recommendation', 0)} recommendations "
            f"(at most {m.sound_max_recommendations} on one), {sound.get('suggestion', 0)} suggestions",
        ),
        (
            "analysis evidence at a line",
            f"{_share(m.evidence_located_share)} ({m.analysis_located}/{m.analysis_findings})",
        ),
        (
            "broken requirements flagged",
            f"{_share(m.coverage_accuracy)} ({m.requirements_flagged}/{m.labelled_requirements})",
        ),
        ("unmatched findings", f"{m.unmatched} of {m.findings}"),
        ("spearman: defects vs completeness", _num(m.spearman_completeness, ".2f") + " (expected < 0)"),
        ("spearman: defects vs soundness", _num(m.spearman_soundness, ".2f") + " (expected < 0)"),
    ]
    rows += [(f"sound ranked first: {group}", _yes(value)) for group, value in m.groups.items()]
    rows += [
        ("evidence quotes found", f"{_share(m.evidence_found_share)} ({m.evidence_found}/{m.evidence_quotes})"),
        ("output validity", f"{_share(m.validity)} ({m.cases_ok}/{m.cases})"),
    ]
    for row in rows:
        table.add_row(*row)
    return table


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _yes(value: bool | None) -> str:
    return "-" if value is None else ("yes" if value else "no")


def print_gate(console: Console, result: GateResult, written: list[Path], recorded: str = "") -> None:
    """One line per case (✓ pass, ✗ fail with why, ? no review) with the findings that fail it and
    those waived, then the waivers that expired or match nothing, the files written, and the counts."""
    marks = {"pass": "[green]✓[/]", "fail": "[red]✗[/]", "missing": "[yellow]?[/]"}
    for case in result.cases:
        why = f": {'; '.join(case.reasons)}" if case.reasons else ""
        note = f" ({'; '.join(case.notes)})" if case.notes else ""
        console.print(f"{marks[case.status]} {escape(case.key + why + note)}", soft_wrap=True, highlight=False)
        for finding in (f for f in case.findings if f.breaks):
            where = f", line {finding.line}" if finding.line else ""
            new = " (new)" if finding.baseline_state == "new" else ""
            console.print(f"    [{finding.severity}] {finding.title}{where}{new}", soft_wrap=True, markup=False)
        for finding, w in ((f, f.waiver) for f in case.findings if f.at_or_above):
            if w is not None:
                by = f"approved by {w.approved_by} until {w.expires}"
                console.print(f"    waived [{finding.severity}] {finding.title} — {by}", soft_wrap=True, markup=False)
    for problem in result.waiver_problems:
        console.print(f"[yellow]![/] {escape(problem)}", soft_wrap=True, highlight=False)
    for path in written:
        console.print(f"{path} written", soft_wrap=True)
    if recorded:
        console.print(recorded, soft_wrap=True, markup=False, highlight=False)
    waived = f", {len(result.waived)} finding(s) waived" if result.options.waivers is not None else ""
    console.print(
        f"gate: {result.count('pass')} passed, {result.count('fail')} failed, "
        f"{result.count('missing')} without a review{waived} — exit {result.exit_code}"
    )


def print_cost(console: Console, result: Review) -> None:
    """The reviewer's `/cost` step: tokens (cached ones included), time and speed."""
    u = result.usage or Usage()
    how = result.processing.describe() if result.processing else ""
    console.print(
        f"cost: {u.prompt_tokens:,} prompt tokens ({u.cached_tokens:,} from cache) · "
        f"{u.completion_tokens:,} completion tokens · {u.seconds:.1f} s · {u.tokens_per_second:.1f} tok/s overall · "
        f"{how}"
    )


def print_ingested(console: Console, results: list[Ingested], db: Path, *, reparse: bool) -> None:
    """One line per review file (✓ stored, ↻ reparsed, = already there, - not a review) and the counts."""
    marks = {"ok": "[green]✓[/]", "reparsed": "[green]↻[/]", "duplicate": "=", "skipped": "[yellow]-[/]"}
    for r in results:
        console.print(
            f"{marks[r.status]} {r.path} → {r.case_key}" + (f": {r.message}" if r.message else ""), soft_wrap=True
        )
    counts = {s: sum(r.status == s for r in results) for s in marks}
    reparsed = f"reparsed {counts['reparsed']}, " if reparse else ""
    there, skipped = counts["duplicate"], counts["skipped"]
    console.print(f"ingested {counts['ok']}, {reparsed}already there {there}, not reviews {skipped} — {db}")


def print_server_bench(report: ServerBenchReport) -> None:
    """The servers alone at each concurrency beside the pipeline at the best one, and their ratio."""
    title = (
        f"bench: {report.model} on {report.server}, {report.slots} slot(s), {report.cases} case(s), "
        f"max {report.max_tokens} tokens"
    )
    table = Table("figure", "value", title=title)
    for n, tps in sorted(report.server_tps.items()):
        table.add_row(f"server alone, {n} in flight", f"{tps:.1f} tok/s ({report.server_requests_per_min[n]:.1f}/min)")
    table.add_row(
        f"pipeline, {report.best_concurrency} in flight",
        f"{report.pipeline_tps:.1f} tok/s ({report.pipeline_reviews_per_min:.1f} reviews/min, "
        f"{report.pipeline_retries} retries, {report.pipeline_failures} failed)",
    )
    ratio = report.ratio
    table.add_row("ratio: pipeline / server at the best concurrency", "-" if ratio is None else f"{ratio:.2f}")
    Console().print(table)
