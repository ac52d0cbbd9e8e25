from __future__ import annotations

import os
from pathlib import Path

import pytest

from evaluator.batch.cases import discover, from_manifest, is_design
from evaluator.errors import CaseError
from tests.support.data import DATASETS


def _touch(path: Path, text: str = "# x\n\nbody\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("tech-design.md", True),
        ("payments-design.md", True),
        ("Tech-Design.md", True),
        ("tech-design-review.md", False),
        ("review-of-payments-design.md", False),
        ("design.md", False),
        ("requirements.md", False),
    ],
)
def test_design_naming_rule(name: str, expected: bool) -> None:
    assert is_design(name) is expected


def test_nearest_requirements_up_to_the_root(tmp_path: Path) -> None:
    _touch(tmp_path / "docs" / "requirements.md")
    _touch(tmp_path / "team-a" / "requirements.md")
    _touch(tmp_path / "team-a" / "svc" / "tech-design.md")
    _touch(tmp_path / "team-b" / "v2" / "billing-design.md")
    _touch(tmp_path / "team-b" / "v2" / "billing-design-review.md")
    cases = {c.key: c for c in discover(tmp_path)}
    assert set(cases) == {"team-a/svc/tech-design.md", "team-b/v2/billing-design.md"}
    assert cases["team-a/svc/tech-design.md"].requirements.resolve() == (tmp_path / "team-a" / "requirements.md")  # type: ignore[union-attr]
    assert cases["team-b/v2/billing-design.md"].requirements.resolve() == tmp_path / "docs" / "requirements.md"  # type: ignore[union-attr]


def test_no_requirements_is_reported_not_fatal_and_parents_above_root_are_ignored(tmp_path: Path) -> None:
    _touch(tmp_path / "requirements.md")
    root = tmp_path / "batch"
    _touch(root / "x" / "tech-design.md")
    [case] = discover(root)
    assert case.requirements is None


def test_designs_sharing_requirements_are_adjacent(tmp_path: Path) -> None:
    for group in ("b", "a"):
        _touch(tmp_path / group / "requirements.md")
        for name in ("z", "m"):
            _touch(tmp_path / group / name / "tech-design.md")
    keys = [c.key for c in discover(tmp_path)]
    assert keys == ["a/m/tech-design.md", "a/z/tech-design.md", "b/m/tech-design.md", "b/z/tech-design.md"]


def test_symlink_loops_are_not_followed(tmp_path: Path) -> None:
    _touch(tmp_path / "requirements.md")
    _touch(tmp_path / "a" / "tech-design.md")
    os.symlink(tmp_path, tmp_path / "a" / "loop")
    assert [c.key for c in discover(tmp_path)] == ["a/tech-design.md"]


def test_manifest_for_odd_layouts(tmp_path: Path) -> None:
    _touch(tmp_path / "specs" / "req.md")
    _touch(tmp_path / "x" / "architecture.md")
    manifest = tmp_path / "cases.toml"
    manifest.write_text('[[case]]\nkey = "arch"\ndesign = "x/architecture.md"\nrequirements = "specs/req.md"\n')
    [case] = from_manifest(manifest)
    assert (case.key, case.design, case.requirements) == (
        "arch",
        tmp_path / "x/architecture.md",
        tmp_path / "specs/req.md",
    )


_CASE = '[[case]]\ndesign = "a/tech.md"\nrequirements = "req.md"\n'


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[[case]]\nkey = 1\n", "case 1 needs design"),
        ("", "lists no"),
        ("[[", "not valid TOML"),
        ('[[case]]\ndesign = "a/tech.md"\n', "case 1 needs requirements"),
        (_CASE + 'requirement = "req.md"\n', "case 1 has unknown key requirement"),
        ('[[cases]]\ndesign = "a/tech.md"\n', "unknown table or key cases"),
        (_CASE + 'key = "x"\n' + _CASE + 'key = "x"\n', "cases 1 and 2 have the same key 'x'"),
        (_CASE + _CASE, "cases 1 and 2 have the same key 'a/tech.md'"),
        (_CASE + '[[case]]\ndesign = "a/gone.md"\nrequirements = "specs/gone.md"\n', r"2 file\(s\) not found: .*gone"),
    ],
)
def test_bad_manifest(tmp_path: Path, content: str, message: str) -> None:
    _touch(tmp_path / "a" / "tech.md")
    _touch(tmp_path / "req.md")
    manifest = tmp_path / "m.toml"
    manifest.write_text(content)
    with pytest.raises(CaseError, match=message):
        from_manifest(manifest)


def test_a_bad_manifest_is_one_line_and_exit_2_before_anything_is_written(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from evaluator.cli.main import app

    _touch(tmp_path / "a" / "tech.md")
    manifest = tmp_path / "m.toml"
    manifest.write_text('[[case]]\ndesign = "a/tech.md"\n')  # no requirements: before, skipped and exit 0
    db = tmp_path / "e.duckdb"
    args = ["batch", str(tmp_path), "--manifest", str(manifest), "--db", str(db), "--backend", "fake"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [f'error: manifest {manifest}: case 1 needs requirements = "path" '
                                                  "(relative to the manifest)"]  # fmt: skip
    assert not db.exists()


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(CaseError, match="batch folder not found"):
        discover(tmp_path / "nope")


def test_the_sample_datasets_hold_what_the_real_model_tests_need() -> None:
    from tests.support.real import LONG, SHARED, sample_cases

    cases = sample_cases()
    assert len(cases) >= 3 and any(design.stat().st_size > 20_000 for _, design in cases)
    designs = {d.relative_to(DATASETS).as_posix() for _, d in cases}
    assert LONG in designs and (DATASETS / LONG).stat().st_size > 20_000
    assert {f"{g}/{n}/tech-design.md" for g, names in SHARED.items() for n in names} <= designs
