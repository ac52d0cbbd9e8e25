"""Calibration: labels, the matching rule, the metrics, and `evaluator calibrate` with a fake model."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from evaluator.backends.fake import FakeBackend, schema_instance
from evaluator.batch import BatchOptions
from evaluator.batch.calibration import (
    CaseResult,
    StoredFinding,
    StoredReview,
    assess,
    calibrate,
    matches,
    mentions,
    on_requirement,
    ranks,
    sound_first,
    spearman,
)
from evaluator.batch.cases import Case
from evaluator.batch.labels import Defect, LabelledCase, Labels, labelled_cases, load_labels
from evaluator.cli.main import app
from evaluator.errors import LabelError
from evaluator.store import query
from tests.support.data import DATASETS

runner = CliRunner()

# --- the matching rule ---------------------------------------------------------------------

RACE = Defect("race", "critical", "double booking", ("race", "double-book", "/v1"))


def finding(title: str, severity: str = "critical", detail: str = "", evidence: str = "") -> StoredFinding:
    return StoredFinding(0, severity, title, detail, evidence, None)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("A RACE condition on the slot", True),  # case is ignored
        ("two requests race", True),
        ("requests can double-book a slot", True),
        ("requests can double-\n   book a slot", False),  # whitespace collapses, but a hyphen-newline is not joined
        ("no tracing", False),  # a phrase starts at a word boundary: "race" is not in "trace"
        ("races between requests", True),  # ... but may be a prefix of a longer word
        ("serve it at api/v1", True),  # a phrase starting with a symbol is found anywhere
        ("nothing relevant", False),
    ],
)
def test_a_finding_mentions_a_defect_by_its_match_phrases(text: str, expected: bool) -> None:
    assert mentions(RACE, finding("Title", detail=text)) is expected


def test_title_detail_and_evidence_are_searched_with_whitespace_collapsed() -> None:
    assert mentions(RACE, finding("Double-book  risk"))
    assert mentions(RACE, finding("Slots", evidence="a   Race\twindow"))
    assert mentions(Defect("x", "suggestion", "d", ("check then insert",)), finding("check\n then   INSERT"))


def test_a_finding_matches_at_the_defect_severity_or_above() -> None:
    index = Defect("index", "recommendation", "no index", ("index",))
    assert matches(index, finding("missing index", "critical"))
    assert matches(index, finding("missing index", "recommendation"))
    assert not matches(index, finding("missing index", "suggestion"))
    assert mentions(index, finding("missing index", "suggestion"))


def _labelled(key: str, *defects: Defect, group: str = "requirements.md") -> LabelledCase:
    labels = Labels("defective" if defects else "sound", defects)
    return LabelledCase(Case(key, Path(key), Path(group)), labels, group)


def test_one_finding_may_match_several_defects_and_a_defect_counts_its_first_finding() -> None:
    a = Defect("a", "critical", "d", ("race",))
    b = Defect("b", "recommendation", "d", ("index",))
    c = Defect("c", "critical", "d", ("audit",))
    review = StoredReview(
        "r",
        "ok",
        7,
        7,
        (
            StoredFinding(0, "critical", "race, and no index either"),
            StoredFinding(1, "critical", "race again"),
            StoredFinding(2, "suggestion", "add an audit log"),  # mentions c, too mild to match it
            StoredFinding(3, "suggestion", "rename the service"),
        ),
    )
    result = assess(_labelled("x", a, b, c), review)
    assert [(m.defect.id, m.position) for m in result.matches] == [("a", 0), ("b", 0), ("c", None)]
    assert result.unmatched == 1  # only "rename the service" mentions no planted defect


def test_recall_on_the_broken_requirement_leaves_out_a_finding_about_another_one() -> None:
    """A broad phrase ("password") is met by a finding on a committed secret; the defect is signing
    without re-authentication. The phrase rule counts it, the stricter figure does not."""
    esign = Defect("esign", "critical", "d", ("password", "re-authentication"), requirement="CT-REQ-11")
    secret = StoredFinding(0, "critical", "A password is written in a config file", requirement_id="R5")
    assert matches(esign, secret) and not on_requirement(esign, secret)
    on_it = StoredFinding(1, "critical", "Signing asks for no re-authentication", requirement_id="CT-REQ-11")
    assert on_requirement(esign, on_it)
    story = Defect("s", "critical", "d", ("race",), requirement="US-05/AC-2")
    assert on_requirement(story, StoredFinding(0, "critical", "race", requirement_id="US-05/AC-1"))  # the same story
    quality = Defect("q", "critical", "d", ("lag",), requirement="quality: observability")
    assert on_requirement(quality, secret)  # no id on the label: nothing tells them apart
    result = assess(_labelled("x", esign), StoredReview("r", "ok", 5, 5, (secret,)))
    [m] = result.matches
    assert m.matched and not m.on_requirement
    result = assess(_labelled("x", esign), StoredReview("r", "ok", 5, 5, (secret, on_it)))
    assert result.matches[0].position == 0 and result.matches[0].on_requirement  # any matching finding on it


def test_a_failed_review_matches_nothing() -> None:
    result = assess(_labelled("x", RACE), StoredReview("r", "failed"))
    assert [m.matched for m in result.matches] == [False] and result.unmatched == 0


# --- rank statistics -------------------------------------------------------------------------


def test_ranks_average_ties() -> None:
    assert ranks([10, 20, 20, 5]) == [2.0, 3.5, 3.5, 1.0]


@pytest.mark.parametrize(
    ("xs", "ys", "expected"),
    [
        ([0, 1, 2, 3], [9, 7, 5, 1], -1.0),
        ([0, 1, 2, 3], [1, 2, 3, 4], 1.0),
        ([0, 1, 2], [9, 6, 6], -(3**0.5) / 2),  # tied scores: ranks 3, 1.5, 1.5
        ([0, 2, 2, 3], [8, 4, 8, 2], -5 / 6),  # ties on both sides
    ],
)
def test_spearman(xs: list[float], ys: list[float], expected: float) -> None:
    assert spearman(xs, ys) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(("xs", "ys"), [([0, 1, 2], [5, 5, 5]), ([1, 1], [3, 4]), ([1], [2]), ([], [])])
def test_spearman_is_undefined_when_a_side_is_constant_or_too_short(xs: list[float], ys: list[float]) -> None:
    assert spearman(xs, ys) is None


def _scored(key: str, score: float, *defects: Defect, status: str = "ok") -> CaseResult:
    return CaseResult(_labelled(key, *defects), StoredReview(key, status, score, 0), (), 0)


def test_sound_first_needs_a_strictly_higher_score() -> None:
    assert sound_first([_scored("s", 9), _scored("d", 8, RACE)]) is True
    assert sound_first([_scored("s", 8), _scored("d", 8, RACE)]) is False  # a tie is not ranking first
    assert sound_first([_scored("s", 9, status="failed"), _scored("d", 8, RACE)]) is None
    assert sound_first([_scored("d", 8, RACE)]) is None


# --- labels -----------------------------------------------------------------------------------

GOOD = """expected = "defective"

[[defect]]
id = "race"
severity = "critical"
description = "slots can be double-booked"
match = ["race", "lock"]
"""


def test_load_labels(tmp_path: Path) -> None:
    path = tmp_path / "labels.toml"
    path.write_text(GOOD)
    assert load_labels(path) == Labels(
        "defective", (Defect("race", "critical", "slots can be double-booked", ("race", "lock")),)
    )
    path.write_text('expected = "sound"\ndefect = []\n')
    assert load_labels(path) == Labels("sound", ())


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("expected = ", "is not valid TOML"),
        ('expected = "fine"', 'expected must be "sound" or "defective"'),
        ('expected = "defective"', "a sound design has no [[defect]] and a defective one at least one"),
        (GOOD.replace('"defective"', '"sound"'), "a sound design has no [[defect]]"),
        (GOOD.replace('"critical"', '"blocker"'), "defect 1 (race): severity must be one of critical"),
        (GOOD.replace('match = ["race", "lock"]', "match = []"), "match must be a non-empty list"),
        (GOOD.replace('id = "race"\n', ""), "defect 1 needs a non-empty id"),
        (GOOD + GOOD.split("\n", 1)[1], "defect ids must be unique"),
        ('expected = "defective"\ndefect = "race"', "defect must be a list"),
    ],
)
def test_malformed_labels_name_the_file_and_the_problem(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "labels.toml"
    path.write_text(text)
    with pytest.raises(LabelError, match=r"labels\.toml") as caught:
        load_labels(path)
    assert message in str(caught.value)


def test_only_designs_with_labels_are_calibration_cases(tmp_path: Path) -> None:
    (tmp_path / "requirements.md").write_text("# R\n")
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "tech-design.md").write_text(f"# {name}\n")
    with pytest.raises(LabelError, match="has no labelled cases"):
        labelled_cases(tmp_path)
    (tmp_path / "b" / "labels.toml").write_text(GOOD)
    [case] = labelled_cases(tmp_path)
    assert (case.case.key, case.group, case.labels.expected) == ("b/tech-design.md", "requirements.md", "defective")


def test_a_labelled_design_without_requirements_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "tech-design.md").write_text("# a\n")
    (tmp_path / "a" / "labels.toml").write_text(GOOD)
    with pytest.raises(LabelError, match=r"labelled case a/tech-design\.md has no requirements\.md"):
        labelled_cases(tmp_path)


def test_the_sample_datasets_are_labelled() -> None:
    datasets = DATASETS
    for group in ("loan-origination", "clinic-appointments"):
        cases = labelled_cases(datasets / group)
        assert len(cases) >= 4 and {c.labels.expected for c in cases} == {"sound", "defective"}


# --- a calibration end to end, with a scripted model ---------------------------------------------

DEFECTS = {
    "d1": [("no-retries", "critical", ["retry", "backoff"])],
    "d2": [("pii", "critical", ["encrypt"]), ("index", "recommendation", ["index"])],
    "d3": [("a", "critical", ["audit"]), ("b", "critical", ["lag"]), ("c", "suggestion", ["print"])],
}
# What the scripted model says about each design: findings (severity, title, evidence) and scores.
SAYS: dict[str, tuple[list[tuple[str, str, str]], int, int]] = {
    "sound": ([("suggestion", "Consider caching slot lists", "")], 9, 9),
    "d1": ([("critical", "No retry on the bureau call", "timeout=None")], 6, 5),
    "d2": (
        [("suggestion", "Add an index on status", "a quote not in the design"), ("critical", "No tracing", "")],
        6,
        4,
    ),
}


def _dataset(root: Path) -> Path:
    root.mkdir()
    (root / "requirements.md").write_text("# Requirements\n\nFR-1: book appointments.\n")
    for name in ("sound", "d1", "d2", "d3"):
        (root / name).mkdir()
        (root / name / "tech-design.md").write_text(
            f"# Design {name}\n\n## API\n\nAppointments are booked with `POST /v1/appointments`; tests cover "
            f"booking.\n\nMARK-{name}: calls use timeout=None.\n"
        )
        lines = [
            f'expected = "{"sound" if name == "sound" else "defective"}"',
            "defect = []" if name == "sound" else "",
        ]
        for id_, severity, phrases in DEFECTS.get(name, []):
            lines += [
                "[[defect]]",
                f'id = "{id_}"',
                f'severity = "{severity}"',
                'description = "x"',
                f"match = {phrases}",
            ]
        (root / name / "labels.toml").write_text("\n".join(lines).replace("'", '"') + "\n")
    return root


def _responder(messages: list[dict[str, str]], schema: dict[str, Any]) -> str:
    text = "\n".join(m["content"] for m in messages)
    name = next(n for n in ("sound", "d1", "d2", "d3") if f'"Design {n}"' in text)  # the prompt names the design
    if name == "d3":
        return "garbage"  # invalid twice: the case fails
    data = schema_instance(schema)
    findings, completeness, soundness = SAYS[name]
    data["findings"] = [
        {"severity": s, "title": t, "detail": "because", "section": "API", "evidence": e} for s, t, e in findings
    ]
    data["completeness_score"], data["technical_soundness_score"] = completeness, soundness
    return json.dumps(data)


@pytest.fixture
def fake() -> FakeBackend:
    """A model of unknown size (a server's), so its own findings join the analyses' (none here)."""
    backend = FakeBackend.answering(_responder)
    backend.n_params = None
    return backend


def test_every_metric_of_a_known_calibration(tmp_path: Path, fake: FakeBackend) -> None:
    dataset, db = _dataset(tmp_path / "ds"), tmp_path / "c.duckdb"
    result = calibrate(dataset, BatchOptions(db=db), backend=fake)
    m = result.metrics
    assert (m.cases, m.cases_ok, m.validity) == (4, 3, 0.75)  # d3 failed
    assert (m.defects, m.matched, m.recall) == (6, 1, 1 / 6)  # only d1's retry; d2's index finding is too mild
    assert (m.findings, m.unmatched) == (4, 2)  # "caching" on the sound design and d2's "No tracing"
    assert (m.evidence_quotes, m.evidence_found, m.evidence_found_share) == (2, 1, 0.5)
    # the rubric: defects 0, 1, 2 against completeness 10, 9, 9 and soundness 10, 8, 8 (ties)
    scores = {r.labelled.case.key.split("/")[0]: (r.review.completeness, r.review.soundness) for r in result.results}
    assert scores == {"sound": (10, 10), "d1": (9, 8), "d2": (9, 8), "d3": (None, None)}
    assert m.spearman_completeness == pytest.approx(-(3**0.5) / 2, rel=1e-12)
    assert m.spearman_soundness == pytest.approx(-(3**0.5) / 2, rel=1e-12)
    assert (m.blocking_defects, m.blocking_matched) == (5, 1) and m.matched_by_source == {"model": 1}
    assert m.sound_findings == {"critical": 0, "recommendation": 0, "suggestion": 1}
    assert m.groups == {"requirements.md": True} and m.sound_first is True
    [stored] = query(db, "SELECT recall, unmatched, validity, evidence_found_share, spearman_soundness, "
                     "sound_first, cases, cases_labelled FROM calibration_runs")[1]  # fmt: skip
    assert stored == (1 / 6, 2, 0.75, 0.5, pytest.approx(-(3**0.5) / 2), True, 4, 4)
    _, matched = query(
        db, "SELECT case_key, defect_id, matched, finding_position FROM calibration_matches ORDER BY 1, 2"
    )
    assert matched == [
        ("d1/tech-design.md", "no-retries", True, 0),
        ("d2/tech-design.md", "index", False, None),
        ("d2/tech-design.md", "pii", False, None),
        ("d3/tech-design.md", "a", False, None),
        ("d3/tech-design.md", "b", False, None),
        ("d3/tech-design.md", "c", False, None),
    ]
    _, cases = query(
        db, "SELECT case_key, status, defects, matched, findings, unmatched FROM calibration_cases ORDER BY 1"
    )
    assert cases[2] == ("d3/tech-design.md", "failed", 3, 0, 0, 0)


def test_a_rerun_resumes_from_the_store_and_measures_the_new_review_of_a_changed_design(
    tmp_path: Path, fake: FakeBackend
) -> None:
    dataset, db = _dataset(tmp_path / "ds"), tmp_path / "c.duckdb"
    first = calibrate(dataset, BatchOptions(db=db), backend=fake)
    design = dataset / "d2" / "tech-design.md"
    design.write_text(design.read_text().replace("MARK-d2", "MARK-d1"))  # now reviewed as d1 is
    second = calibrate(dataset, BatchOptions(db=db), backend=fake)
    assert [o.status for o in second.batch.outcomes] == ["cached", "cached", "ok", "failed"]  # d3 is retried
    assert (first.metrics.matched, second.metrics.matched) == (1, 1)
    assert second.metrics.unmatched == 2  # d2's findings are now d1's: one mentions "retry", which d2 lacks
    assert second.metrics.spearman_soundness == pytest.approx(-(3**0.5) / 2, rel=1e-12)  # soundness 9, 5, 5
    assert query(db, "SELECT count(*) FROM calibration_runs")[1] == [(2,)]
    assert fake.opened == 2


def test_cli_calibrate_reports_and_resumes_without_loading_the_model(
    tmp_path: Path, fake: FakeBackend, scripted_backend: Callable[[FakeBackend], str]
) -> None:
    dataset, db = _dataset(tmp_path / "ds"), tmp_path / "c.duckdb"
    backend = scripted_backend(fake)
    result = runner.invoke(app, ["calibrate", str(dataset), "--db", str(db), "--limit", "2", "--backend", backend])
    assert result.exit_code == 0, result.output
    assert "2 of 4 labelled cases" in result.stdout and "defect recall" in result.stdout
    result = runner.invoke(app, ["calibrate", str(dataset), "--db", str(db), "--format", "json", "--backend", backend])
    report = json.loads(result.stdout)
    assert (report["cases"], report["recall"], report["validity"]) == (4, 1 / 6, 0.75)
    assert [c["missed"] for c in report["cases_detail"]][1:3] == [["pii", "index"], ["a", "b", "c"]]
    rows = query(db, "SELECT point, recall FROM calibration_trends ORDER BY point")[1]
    assert [r[0] for r in rows] == [1, 2]


def test_cli_calibrate_on_a_folder_without_labels_fails_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "requirements.md").write_text("# R\n")
    result = runner.invoke(app, ["calibrate", str(tmp_path), "--db", str(tmp_path / "c.duckdb")])
    assert result.exit_code == 2
    assert "has no labelled cases" in result.stderr and "Traceback" not in result.output
