"""End to end with the real embedded model (SmolLM2-135M from site-packages), via the CLI.

Slow: every sample case in datasets/ is reviewed once. Run only these with `pytest -m model`.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evaluator.cli import app
from evaluator.profiles import load_profile
from evaluator.review import ASSESSMENTS, READINESS
from tests.conftest import DATASETS
from tests.test_render import EXPECTED_HEADINGS

pytestmark = pytest.mark.model
runner = CliRunner()


def sample_cases() -> list[tuple[Path, Path]]:
    """Every design in datasets/ with the requirements file of its group."""
    cases = []
    for design in sorted(DATASETS.glob("*/*/tech-design.md")):
        group = design.parent.parent
        requirements = next(p for p in (group / "requirements.md", group / "docs" / "requirements.md") if p.is_file())
        cases.append((requirements, design))
    return cases


def check_format(text: str) -> None:
    """Assert the markdown follows the reviewer's output format to the letter."""
    assert re.match(r"# Technical Design Review: \S.*\n", text)
    assert re.findall(r"^#{2,3} .*$", text, flags=re.M) == EXPECTED_HEADINGS
    summary = dict(re.findall(r"^- \*\*(.+?)\*\*: (.+)$", text.split("## Strengths")[0], flags=re.M))
    assert list(summary) == [
        "Overall Assessment",
        "Completeness Score",
        "Technical Soundness Score",
        "Implementation Readiness",
    ]
    assert summary["Overall Assessment"] in ASSESSMENTS
    assert summary["Implementation Readiness"] in READINESS
    for label in ("Completeness Score", "Technical Soundness Score"):
        match = re.fullmatch(r"(\d+(?:\.\d+)?)/10", summary[label])
        assert match and 0 <= float(match.group(1)) <= 10, summary[label]
    checklist = re.findall(r"^- \[([ x])\] (.+)$", text, flags=re.M)
    assert [item for _, item in checklist] == [c.text for c in load_profile().checklist]
    for heading in ("## Strengths", "## Recommended Next Steps"):
        body = text.split(heading + "\n", 1)[1].split("\n\n", 1)[0]
        assert re.match(r"(- |1\. )\S", body), heading


CASES = sample_cases()


def test_the_samples_are_what_the_issue_asks_for() -> None:
    assert len(CASES) >= 3
    assert any(design.stat().st_size > 20_000 for _, design in CASES)


@pytest.mark.parametrize(
    ("requirements", "design"), CASES, ids=[f"{d.parent.parent.name}/{d.parent.name}" for _, d in CASES]
)
def test_review_of_every_sample_case(tmp_path: Path, requirements: Path, design: Path) -> None:
    out = tmp_path / "tech-design-review.md"
    result = runner.invoke(app, ["review", "-r", str(requirements), "-d", str(design), "-o", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    check_format(text)
    cost = re.search(
        r"cost: ([\d,]+) prompt tokens \(([\d,]+) from cache\) · ([\d,]+) completion tokens", result.stderr
    )
    assert cost and int(cost.group(3).replace(",", "")) > 0
    sectioned = re.search(r"reviewed in \d+ parts?, then a summary pass", text) is not None
    if design.stat().st_size > 20_000:
        assert sectioned  # can never fit one pass of an 8k context
    elif design.stat().st_size < 11_000:
        assert not sectioned  # fits with room to spare; 11-12 KB designs sit at the one-pass limit
