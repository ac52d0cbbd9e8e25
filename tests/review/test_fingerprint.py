"""A finding's fingerprint: what raised it, never where it is or how it is worded."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from evaluator.api import review_files
from evaluator.backends.fake import FakeBackend
from evaluator.review.record import Finding
from tests.support.data import DATASETS

CHECK = {"severity": "critical", "title": "Personal data is written to the logs", "source": "check",
         "check_id": "pii-in-logs", "requirement_id": "R27", "evidence_kind": "shows"}  # fmt: skip


def test_lines_wording_and_quote_do_not_change_the_fingerprint() -> None:
    one = Finding(**CHECK, detail="Log lines carry PII.", evidence="logs the full request", match_start=0,
                  match_end=20, line_start=24, line_end=24, section="Logging")  # fmt: skip
    moved = Finding(**CHECK, detail="Other words.", evidence="we log the whole payload at info", match_start=3,
                    match_end=22, line_start=90, line_end=93, section="Operations")  # fmt: skip
    assert one.fingerprint == moved.fingerprint
    assert re.fullmatch(r"[0-9a-f]{16}", one.fingerprint)


@pytest.mark.parametrize(
    "change",
    [
        {"check_id": "pii-in-metric-labels"},
        {"requirement_id": "R28"},
        {"source": "model"},  # the same check decided by a model is another finding
        {"evidence_kind": "absent"},  # the design lacks it vs the design decides against it
    ],
)
def test_what_raised_the_finding_changes_it(change: dict[str, str]) -> None:
    assert Finding(**{**CHECK, **change}).fingerprint != Finding(**CHECK).fingerprint


def test_findings_without_check_or_requirement_are_known_by_their_normalised_title() -> None:
    model = Finding(severity="critical", title="No **retry** policy", source="model")
    assert model.fingerprint == Finding(severity="recommendation", title="no retry  policy", source="model").fingerprint
    assert model.fingerprint != Finding(severity="critical", title="No DLQ", source="model").fingerprint
    design = Finding(severity="critical", title="Possible prompt injection in the design", source="injection")
    requirements = Finding(
        severity="critical", title="Possible prompt injection in the requirements", source="injection"
    )
    assert design.fingerprint != requirements.fingerprint
    # An ingested finding has no analysis: it never shares a fingerprint with a generated one.
    ingested = Finding(severity="critical", title="No retry policy")
    assert ingested.fingerprint != model.fingerprint
    assert ingested.fingerprint == Finding(severity="suggestion", title="no  retry policy", detail="x").fingerprint


def _reversed_sections(text: str) -> str:
    """The same lines, with the design's ## sections in reverse order."""
    head, *sections = re.split(r"(?m)^(?=## )", text)
    return head + "".join(reversed([s.rstrip("\n") + "\n\n" for s in sections]))


@pytest.mark.parametrize(
    "design",
    [
        "parcel-delivery/decides-against",  # two passages decide against a dead-letter topic
        "clinic-appointments/pii-in-logs",  # two passages log personal data
        "insurance-claims/dual-write",  # two passages publish after the commit
    ],
)
def test_moving_a_designs_sections_keeps_every_fingerprint(design: str, tmp_path: Path) -> None:
    """Several passages fail the same check here; which one a review quotes first depends on the
    order of the lines, so a fingerprint over the quoted words changed when the sections moved."""
    source = DATASETS / design / "tech-design.md"
    requirements = source.parent.parent / "requirements.md"
    moved = tmp_path / "tech-design.md"
    moved.write_text(_reversed_sections(source.read_text()))
    before = review_files(requirements, source, backend=FakeBackend.answering()).findings
    after = review_files(requirements, moved, backend=FakeBackend.answering()).findings
    assert sorted(f.fingerprint for f in before) == sorted(f.fingerprint for f in after)
    assert {f.check_id for f in before if f.source == "check"}  # the checks did fail: there is something to keep
    lines = {f.fingerprint: f.line_start for f in before}
    assert any(lines[f.fingerprint] != f.line_start for f in after if f.line_start)  # the evidence did move
