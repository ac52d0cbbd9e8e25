"""Terminal output of `evaluator calibrate` (rich lives here, not in the core)."""

from __future__ import annotations

import json
import sys

from rich.console import Console
from rich.table import Column, Table

from evaluator.calibration import Calibration, report


def print_calibration(calibration: Calibration, fmt: str) -> None:
    """The per-case table and the metrics table on stdout, or the report as JSON."""
    if fmt == "json":
        json.dump(report(calibration), sys.stdout, indent=2)
        sys.stdout.write("\n")
        return
    console = Console()
    console.print(_cases_table(calibration))
    console.print(_metrics_table(calibration))
    if calibration.batch.interrupted:
        console.print("[yellow]interrupted[/] — not recorded; run the same command again to resume")


def _cases_table(c: Calibration) -> Table:
    table = Table("expected", "status", "completeness", "soundness", "matched", "missed", "unmatched")
    # The case names the row: never fold it; the other cells give way first.
    width = max((len(r.labelled.case.key) for r in c.results), default=4)
    table.columns.insert(0, Column("case", no_wrap=True, min_width=width))
    table.title = f"calibration of {c.run['model_name']} · {c.run['profile']} · prompts {c.run['prompt_hash']}"
    for r in c.results:
        missed = ", ".join(m.defect.id for m in r.matches if not m.matched) or "-"
        table.add_row(
            r.labelled.case.key,
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
    table = Table("metric", "value", title=f"{c.dataset}: {m.cases} of {c.labelled} labelled cases")
    rows = [
        ("defect recall", f"{_share(m.recall)} ({m.matched}/{m.defects})"),
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


def _num(value: float | None, spec: str = "g") -> str:
    return "-" if value is None else format(value, spec)


def _yes(value: bool | None) -> str:
    return "-" if value is None else ("yes" if value else "no")
