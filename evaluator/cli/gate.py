"""`evaluator gate`: the latest reviews against the team's thresholds, for CI (JUnit and SARIF files)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from evaluator.cli.common import err, reported
from evaluator.cli.options import DEFAULT_DB, CaseGlobOpt, DbOpt, FailOn, JunitOpt, MinCompletenessOpt, SarifOpt
from evaluator.outputs import check_output_file, writing

if TYPE_CHECKING:  # the gate reads the store (duckdb): `evaluator --help` should not pay for it
    from evaluator.reports.gate import GateResult


def gate(
    db: DbOpt = DEFAULT_DB,
    fail_on: Annotated[
        FailOn, typer.Option("--fail-on", help="Fail a design with a finding of this severity or worse.")
    ] = FailOn.critical,
    min_completeness: MinCompletenessOpt = None,
    case: CaseGlobOpt = None,
    junit: JunitOpt = None,
    sarif: SarifOpt = None,
    waivers: Annotated[
        Path | None,
        typer.Option(
            "--waivers", metavar="FILE", help="Accepted findings (TOML): a waived finding does not fail its design."
        ),
    ] = None,
    strict_waivers: Annotated[
        bool, typer.Option("--strict-waivers", help="Also fail when a waiver has expired or matches no finding.")
    ] = False,
    baseline: Annotated[
        Path | None,
        typer.Option(
            "--baseline", metavar="STORE|SARIF", help="Fail only on findings new against this store or SARIF file."
        ),
    ] = None,
) -> None:
    """Check the latest review of each design against thresholds, for CI.

    Exit status: 0 when every selected design passes, 1 when some fail (with --strict-waivers,
    also when a waiver has expired or matches no finding), 2 on a usage or configuration error,
    3 when the store holds no review for a selected case (this wins over 1).
    Example: evaluator gate --db evaluator.duckdb --waivers waivers.toml --baseline main.sarif --sarif gate.sarif
    """
    from evaluator.cli.output import print_gate
    from evaluator.reports.gate import GateOptions, evaluate, load_baseline, record_waivers
    from evaluator.reports.waivers import load_waivers

    with reported(), writing("gate file"):
        options = GateOptions(
            fail_on.value,
            min_completeness,
            tuple(case or ()),
            waivers=load_waivers(waivers) if waivers else None,
            baseline=load_baseline(baseline) if baseline else None,
            strict_waivers=strict_waivers,
        )
        result = evaluate(db, options)
        written = _write(result, junit, sarif)
        recorded = record_waivers(db, result)
    print_gate(err, result, written, recorded)
    raise typer.Exit(result.exit_code)


def write_gate_files(db: Path, keys: list[str], junit: Path | None, sarif: Path | None) -> None:
    """The gate's JUnit/SARIF files for the cases of a batch run (failing on critical findings)."""
    from evaluator.reports.gate import GateOptions, evaluate

    with reported(), writing("gate file"):
        for path in _write(evaluate(db, GateOptions(keys=tuple(keys))), junit, sarif):
            err.print(f"{path} written", soft_wrap=True)


def _write(result: GateResult, junit: Path | None, sarif: Path | None) -> list[Path]:
    from evaluator.reports.gate_files import write_junit, write_sarif

    writers: tuple[tuple[Path | None, Callable[[GateResult, Path], Path]], ...] = (
        (junit, write_junit),
        (sarif, write_sarif),
    )
    return [write(result, path) for path, write in writers if path]


def check_gate_files(junit: Path | None, sarif: Path | None) -> None:
    """Refuse, before a batch runs, gate files that could not be written after it (one line, exit 2)."""
    with reported():
        for path, what in ((junit, "JUnit file"), (sarif, "SARIF file")):
            if path:
                check_output_file(path, what)
