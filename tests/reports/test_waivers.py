"""Waivers: the file checked at the door, what a waiver matches, and what the gate reports about stale ones."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evaluator.cli.main import app
from evaluator.documents.read import parse_document
from evaluator.reports.gate import GateOptions, GateResult, evaluate
from evaluator.reports.waivers import WaiverError, load_waivers
from evaluator.review.record import Finding, Review
from evaluator.store import ReviewRecord, Store

runner = CliRunner()
TODAY = date(2026, 6, 1)
DLQ = Finding(severity="critical", title="No DLQ", source="check", check_id="consumer-dead-letter",
              requirement_id="FR-4", evidence_kind="shows", line_start=3)  # fmt: skip
AUTH = Finding(severity="critical", title="No auth", source="check", check_id="authentication",
               requirement_id="FR-9", evidence_kind="shows", line_start=5)  # fmt: skip


def _waiver(**fields: str) -> str:
    base = {"case": "*", "justification": "accepted", "approved_by": "Dana", "expires": "2026-12-31"}
    lines = [f"{k} = {v}" if k == "expires" else f'{k} = "{v}"' for k, v in {**base, **fields}.items()]
    return "[[waiver]]\n" + "\n".join(lines) + "\n"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "e.duckdb"
    with Store(path) as store:
        run = store.begin_run("batch", "x")
        for key, findings in (("pay/a/tech-design.md", [DLQ, AUTH]), ("pay/b/tech-design.md", [DLQ]),
                              ("ship/c/tech-design.md", [AUTH])):  # fmt: skip
            design = parse_document(f"# {key}\n\nbody\n", Path(key))
            store.save(ReviewRecord(run, key, review=Review(title=key, profile="p", findings=findings), design=design))
    return path


def _gate(
    db: Path, tmp_path: Path, text: str, cases: tuple[str, ...] = (), *, strict_waivers: bool = False
) -> GateResult:
    path = tmp_path / "waivers.toml"
    path.write_text(text)
    options = GateOptions(cases=cases, waivers=load_waivers(path), today=TODAY, strict_waivers=strict_waivers)
    return evaluate(db, options)


def test_a_check_waiver_accepts_that_check_in_the_matching_cases_only(db: Path, tmp_path: Path) -> None:
    result = _gate(db, tmp_path, _waiver(check="consumer-dead-letter", case="pay/*"))
    status = {c.key: (c.status, [f.title for f in c.findings if f.breaks]) for c in result.cases}
    assert status == {
        "pay/a/tech-design.md": ("fail", ["No auth"]),
        "pay/b/tech-design.md": ("pass", []),
        "ship/c/tech-design.md": ("fail", ["No auth"]),
    }
    assert result.waiver_problems == [] and len(result.waived) == 2


def test_a_fingerprint_waiver_needs_its_case_too(db: Path, tmp_path: Path) -> None:
    result = _gate(db, tmp_path, _waiver(fingerprint=AUTH.fingerprint, case="ship/*"))
    assert {c.key: c.status for c in result.cases} == {
        "pay/a/tech-design.md": "fail", "pay/b/tech-design.md": "fail", "ship/c/tech-design.md": "pass",
    }  # fmt: skip


def test_expired_and_unmatched_waivers_are_reported_and_fail_only_when_strict(db: Path, tmp_path: Path) -> None:
    text = (
        _waiver(check="consumer-dead-letter", case="pay/b/*", expires="2026-05-31")  # expired yesterday
        + _waiver(check="authentication", case="ship/*", expires="2026-06-01")  # live through today
        + _waiver(check="no-such-check", case="pay/*")
    )
    result = _gate(db, tmp_path, text, cases=("pay/b/*", "ship/*"))
    problems = result.waiver_problems
    assert len(problems) == 2
    assert problems[0].startswith("waiver 1 (check consumer-dead-letter on 'pay/b/*') in ")
    assert "expired on 2026-05-31: not applied" in problems[0]
    assert (
        problems[1].startswith("waiver 3 (check no-such-check on 'pay/*') in ") and "matches no finding" in problems[1]
    )
    assert {c.key: c.status for c in result.cases} == {"pay/b/tech-design.md": "fail", "ship/c/tech-design.md": "pass"}
    only_stale = _gate(db, tmp_path, _waiver(check="no-such-check", case="ship/*"), cases=("pay/b/*",))
    assert only_stale.waiver_problems == []  # its cases are not under this gate
    lenient = _gate(db, tmp_path, _waiver(check="authentication", case="ship/*") + _waiver(check="x", case="ship/*"),
                    cases=("ship/*",))  # fmt: skip
    assert (lenient.exit_code, len(lenient.waiver_problems)) == (0, 1)
    strict = _gate(db, tmp_path, _waiver(check="authentication", case="ship/*") + _waiver(check="x", case="ship/*"),
                   cases=("ship/*",), strict_waivers=True)  # fmt: skip
    assert strict.exit_code == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (_waiver(), "waiver 1: give either a fingerprint or a check, not both and not neither"),
        (_waiver(check="a", fingerprint="0123456789abcdef"), "give either a fingerprint or a check"),
        (_waiver(fingerprint="7e29"), "waiver 1: fingerprint must be the 16 hex digits of a finding's fingerprint"),
        (_waiver(check="a", expires='"soon"'), "waiver 1: expires must be a date such as 2026-09-30"),
        (_waiver(check="a") + '[[waiver]]\ncheck = "b"\ncase = "*"\n', "waiver 2: justification is missing"),
        (_waiver(check="a", justification=" "), "waiver 1: justification: must say something"),
        (_waiver(check="a", approver="x"), "waiver 1: unknown field 'approver'"),
        ("[waivers]\n", "unknown table 'waivers' — each waiver is a [[waiver]] table"),
        ("[[waiver]\n", "is not valid TOML"),
    ],
)
def test_a_malformed_waivers_file_is_one_line_and_exit_2(db: Path, tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "waivers.toml"
    path.write_text(text)
    with pytest.raises(WaiverError, match=re.escape(message)):
        load_waivers(path)
    result = runner.invoke(app, ["gate", "--db", str(db), "--waivers", str(path)])
    assert result.exit_code == 2, result.output
    assert len(result.stderr.strip().splitlines()) == 1 and "(see --waivers)" in result.stderr
    assert "Traceback" not in result.output


def test_a_missing_waivers_file_is_exit_2(db: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["gate", "--db", str(db), "--waivers", str(tmp_path / "none.toml")])
    assert result.exit_code == 2 and "no waivers file at" in result.stderr


def test_the_cli_reports_stale_waivers_and_fails_with_the_flag(db: Path, tmp_path: Path) -> None:
    path = tmp_path / "waivers.toml"
    path.write_text(_waiver(check="authentication", case="ship/*", expires="2999-01-01") + _waiver(check="zzz"))
    args = ["gate", "--db", str(db), "--case", "ship/*", "--waivers", str(path)]
    lenient = runner.invoke(app, args)
    assert lenient.exit_code == 0, lenient.output
    assert "! waiver 2 (check zzz on '*')" in lenient.stderr and "1 finding(s) waived" in lenient.stderr
    assert runner.invoke(app, [*args, "--strict-waivers"]).exit_code == 1
