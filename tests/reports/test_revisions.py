"""The issue's scenario end to end: a batch over a sample dataset, a revision of designs, a second batch.

One design's revision fixes a finding, one introduces another, one only moves its sections.
``trends``, the report and the ``finding_history`` view must show exactly one resolved and one
new finding on the right cases and every other finding persisting; the gate, given the store
before the revision as a baseline, must fail exactly on the new one; a waiver must let one
design pass and not another. The fake backend stands in for the model (everything around it
is real: the analyses, the batch, the store, the gate).
"""

from __future__ import annotations

import json
import re
import shutil
from datetime import date, timedelta
from pathlib import Path

import jsonschema
import pytest
from junitparser import Failure, JUnitXml
from typer.testing import CliRunner

from evaluator.cli.main import app
from evaluator.reports.gate import GateOptions, evaluate, load_baseline
from evaluator.reports.gate_files import FINGERPRINT_KEY, sarif
from evaluator.reports.html import render_report
from evaluator.reports.lifecycle import lifecycles
from evaluator.store import query
from tests.support.data import SCHEMAS
from tests.support.revisions import FIXED, FIXED_TITLE, INTRODUCED, INTRODUCED_TITLE, MOVED, Revised, revised_store

runner = CliRunner()
SCHEMA = json.loads((SCHEMAS / "sarif-schema-2.1.0.json").read_text())


@pytest.fixture(scope="module")
def revised(tmp_path_factory: pytest.TempPathFactory) -> Revised:
    return revised_store(tmp_path_factory.mktemp("revisions"))


def _first_findings(revised: Revised, key: str) -> int:
    _, rows = query(
        revised.before, "SELECT count(*) FROM findings JOIN latest_reviews USING (review_id) WHERE case_key = ?", [key]
    )
    return int(rows[0][0])


def test_lifecycle_shows_one_resolved_and_one_new_and_the_rest_persisting(revised: Revised) -> None:
    history = lifecycles(revised.db)
    revised_keys = {FIXED, INTRODUCED, MOVED}
    assert {k for k, h in history.items() if h.latest.revision == 2} == revised_keys
    latest = {
        k: (h.latest.new, h.latest.persisting, h.latest.resolved) for k, h in history.items() if k in revised_keys
    }
    assert latest == {
        FIXED: (0, _first_findings(revised, FIXED) - 1, 1),
        INTRODUCED: (1, _first_findings(revised, INTRODUCED), 0),
        MOVED: (0, _first_findings(revised, MOVED), 0),  # moved lines: every fingerprint kept
    }
    assert [f.title for f in history[FIXED].of("resolved")] == [FIXED_TITLE]
    assert [f.title for f in history[INTRODUCED].of("new")] == [INTRODUCED_TITLE]
    persisting = [f for k in revised_keys for f in history[k].of("persisting")]
    assert persisting and all((f.first_revision, f.revisions) == (1, 2) for f in persisting)
    unrevised = [h for k, h in history.items() if k not in revised_keys]
    assert unrevised and all(len(h.steps) == 1 and not h.latest.resolved for h in unrevised)


def test_trends_table_and_json_show_what_the_revisions_changed(revised: Revised) -> None:
    table = runner.invoke(app, ["trends", "--db", str(revised.db)])
    assert table.exit_code == 0, table.output
    changed = [line.strip() for line in table.stdout.split("changed by the latest revision:")[1].splitlines() if line]
    assert changed == [
        f"{INTRODUCED} r2: new [critical] {INTRODUCED_TITLE}",
        f"{FIXED} r2: resolved [critical] {FIXED_TITLE}",
    ]
    header = next(line for line in table.stdout.splitlines() if line.startswith("┃"))
    assert [c.strip() for c in header.strip("┃").split("┃")][-4:] == ["revision", "new", "persisting", "resolved"]
    data = {t["key"]: t["lifecycle"] for t in json.loads(runner.invoke(app, ["trends", "--db", str(revised.db),
                                                                            "--format", "json"]).stdout)}  # fmt: skip
    states = {k: sorted(f["state"] for f in v["findings"] if f["state"] != "persisting") for k, v in data.items()}
    assert {k: s for k, s in states.items() if s and len(data[k]["revisions"]) == 2} == {
        FIXED: ["resolved"],
        INTRODUCED: ["new"],
    }
    assert [r["revision"] for r in data[MOVED]["revisions"]] == [1, 2]


def _history_text(html: str, key: str) -> str:
    """The text of a case's 'findings by revision' block in the report."""
    card = html[html.index(f'<span class="key">{key}</span>') :]
    block = card[card.index('<details class="history"') :]
    block = block[: block.index("</details>")]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", block))


def test_the_report_shows_counts_per_revision_and_the_lists(revised: Revised) -> None:
    html = render_report(revised.db)
    fixed, introduced, moved = (_history_text(html, key) for key in (FIXED, INTRODUCED, MOVED))
    n_fixed, n_introduced = _first_findings(revised, FIXED), _first_findings(revised, INTRODUCED)
    # Rows newest first: revision, when, new, persisting, resolved.
    assert re.search(rf"r2 \S+ \S+ 0 {n_fixed - 1} 1 r1 \S+ \S+ {n_fixed} 0 0", fixed), fixed
    assert f"resolved by r2 (1) [critical] {FIXED_TITLE}" in fixed
    assert re.search(rf"r2 \S+ \S+ 1 {n_introduced} 0 r1 ", introduced), introduced
    assert f"new in r2 (1) [critical] {INTRODUCED_TITLE}" in introduced
    assert "new in r2" not in moved and "resolved by r2" not in moved and "since r1, 2 revisions" in moved


def test_finding_history_answers_which_criticals_persisted(revised: Revised) -> None:
    _, rows = query(
        revised.db,
        "SELECT case_key, title FROM finding_history WHERE latest AND state = 'persisting' AND severity = 'critical' "
        "AND revisions >= 2 ORDER BY 1, 2",
    )
    assert {key for key, _ in rows} == {FIXED, INTRODUCED, MOVED}
    assert (FIXED, FIXED_TITLE) not in rows and (INTRODUCED, INTRODUCED_TITLE) not in rows
    _, states = query(revised.db, "SELECT state, count(*) FROM finding_history WHERE revision = 2 GROUP BY 1")
    assert dict(states)["new"] == 1 and dict(states)["resolved"] == 1


def test_gate_against_an_unchanged_baseline_fails_nothing(revised: Revised, tmp_path: Path) -> None:
    plain = evaluate(revised.before)
    assert plain.exit_code == 1  # without a baseline, the sample's criticals fail it
    for db, baseline in ((revised.before, revised.before), (revised.db, revised.db)):
        result = runner.invoke(app, ["gate", "--db", str(db), "--baseline", str(baseline)])
        assert result.exit_code == 0, result.output


def test_gate_after_the_revision_fails_exactly_on_the_new_finding(revised: Revised, tmp_path: Path) -> None:
    junit, log_file = tmp_path / "gate.xml", tmp_path / "gate.sarif"
    args = ["gate", "--db", str(revised.db), "--baseline", str(revised.before), "--junit", str(junit)]
    result = runner.invoke(app, [*args, "--sarif", str(log_file)])
    assert result.exit_code == 1, result.output
    assert f"✗ {INTRODUCED}: 1 new finding(s) at or above critical" in result.stderr
    assert result.stderr.count("✗") == 1 and f"[critical] {INTRODUCED_TITLE}, line" in result.stderr
    cases = {case.name: case for suite in JUnitXml.fromfile(str(junit)) for case in suite}
    [failure] = cases[INTRODUCED].result
    assert isinstance(failure, Failure) and INTRODUCED_TITLE in (failure.text or "") and "[new]" in failure.text
    assert f"new against the baseline: 1\n  [critical] pii-in-logs: {INTRODUCED_TITLE}" in cases[INTRODUCED].system_out
    assert f"no longer found: 1\n  [critical] external-call-timeouts: {FIXED_TITLE}" in cases[FIXED].system_out
    log = json.loads(log_file.read_text())
    jsonschema.Draft4Validator(SCHEMA).validate(log)
    states: dict[str, list[str]] = {}
    for r in log["runs"][0]["results"]:
        states.setdefault(r["baselineState"], []).append(r["properties"]["title"])
    assert (states["new"], states["absent"]) == ([INTRODUCED_TITLE], [FIXED_TITLE])
    assert len(states["unchanged"]) == sum(len(b) for b in load_baseline(revised.before).findings.values()) - 1


def test_a_sarif_file_from_before_the_revision_is_the_same_baseline(revised: Revised, tmp_path: Path) -> None:
    before = tmp_path / "before.sarif"
    assert runner.invoke(app, ["gate", "--db", str(revised.before), "--sarif", str(before)]).exit_code == 1
    from_sarif = evaluate(revised.db, GateOptions(baseline=load_baseline(before)))
    from_store = evaluate(revised.db, GateOptions(baseline=load_baseline(revised.before)))
    breaking = [(c.key, f.fingerprint) for c in from_sarif.cases for f in c.findings if f.breaks]
    assert breaking == [(c.key, f.fingerprint) for c in from_store.cases for f in c.findings if f.breaks]
    assert [k for k, _ in breaking] == [INTRODUCED]
    prints = {r["partialFingerprints"][FINGERPRINT_KEY] for r in sarif(from_store)["runs"][0]["results"]}
    assert {f for _, f in breaking} <= prints


def _waivers(path: Path, fingerprint: str, expires: date) -> Path:
    path.write_text(
        "[[waiver]]\n"
        f'fingerprint = "{fingerprint}"\n'
        'case = "race-and-index/*"\n'
        'justification = "The unique index ships with migration 42; the check in code is a stopgap."\n'
        'approved_by = "Dana Reyes (architecture board)"\n'
        f"expires = {expires.isoformat()}\n"
    )
    return path


def test_a_waiver_passes_one_design_and_not_another_and_shows_everywhere(revised: Revised, tmp_path: Path) -> None:
    db = tmp_path / "store.duckdb"
    shutil.copy2(revised.db, db)
    [critical] = [f for c in evaluate(db, GateOptions(cases=(MOVED,))).cases for f in c.findings if f.breaks]
    waivers = _waivers(tmp_path / "waivers.toml", critical.fingerprint, date.today() + timedelta(days=30))
    log_file = tmp_path / "gate.sarif"
    args = ["gate", "--db", str(db), "--case", MOVED, "--case", "pii-leaks/*", "--waivers", str(waivers)]
    result = runner.invoke(app, [*args, "--sarif", str(log_file)])
    assert result.exit_code == 1, result.output
    assert f"✓ {MOVED}" in result.stderr and "✗ pii-leaks/tech-design.md" in result.stderr
    assert "waived [critical]" in result.stderr and "1 waived finding(s) recorded" in result.stderr
    log = json.loads(log_file.read_text())
    jsonschema.Draft4Validator(SCHEMA).validate(log)
    [suppressed] = [r for r in log["runs"][0]["results"] if "suppressions" in r]
    assert suppressed["partialFingerprints"][FINGERPRINT_KEY] == critical.fingerprint
    [suppression] = suppressed["suppressions"]
    assert (suppression["kind"], suppression["status"]) == ("external", "accepted")
    assert suppression["justification"].startswith("The unique index ships with migration 42")
    assert suppression["properties"]["approvedBy"] == "Dana Reyes (architecture board)"
    _, stored = query(db, "SELECT fingerprint, approved_by, matched_by FROM finding_waivers")
    assert stored == [(critical.fingerprint, "Dana Reyes (architecture board)", "fingerprint")]
    html = render_report(db)
    assert "Waived findings" in html and "The unique index ships with migration 42" in html
    again = runner.invoke(app, args)  # the same gate again: still one record per waived finding
    assert again.exit_code == 1 and query(db, "SELECT count(*) FROM finding_waivers")[1] == [(1,)]


def test_an_expired_waiver_fails_with_one_line_naming_it(revised: Revised, tmp_path: Path) -> None:
    [critical] = [f for c in evaluate(revised.db, GateOptions(cases=(MOVED,))).cases for f in c.findings if f.breaks]
    waivers = _waivers(tmp_path / "waivers.toml", critical.fingerprint, date.today() - timedelta(days=1))
    result = runner.invoke(app, ["gate", "--db", str(revised.db), "--case", MOVED, "--waivers", str(waivers)])
    assert result.exit_code == 1, result.output
    [line] = [line for line in result.stderr.splitlines() if "expired" in line]
    assert f"waiver 1 (fingerprint {critical.fingerprint} on 'race-and-index/*')" in line
    assert f"expired on {date.today() - timedelta(days=1):%Y-%m-%d}: not applied" in line
    assert f"✗ {MOVED}" in result.stderr
