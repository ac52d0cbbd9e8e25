"""A batch over a folder mixing formats; discovery that says why it found nothing; ingest of converted reviews."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from evaluator.backends.fake import FakeBackend
from evaluator.batch import BatchOptions, run_batch
from evaluator.batch.cases import CaseError, discover, is_design
from evaluator.cli.main import app
from evaluator.documents import formats
from evaluator.ingest.reviews import case_key_for, ingest
from evaluator.review.render import render_markdown
from evaluator.store import query
from tests.support.doc_fixtures import REQUIREMENTS_PARAGRAPHS, docx_bytes, pdf_bytes, write_design

runner = CliRunner()
FORMATS = ["md", "docx", "pdf", "html", "rst", "adoc"]


@pytest.fixture
def fake() -> FakeBackend:
    return FakeBackend.answering()


def _mixed(root: Path) -> Path:
    (root / "docs").mkdir(parents=True)
    (root / "docs" / "requirements.pdf").write_bytes(pdf_bytes([text for _, text in REQUIREMENTS_PARAGRAPHS]))
    for fmt in FORMATS:
        write_design(root / fmt, fmt)
    (root / "word-only").mkdir()
    (root / "word-only" / "requirements.docx").write_bytes(docx_bytes(REQUIREMENTS_PARAGRAPHS))
    write_design(root / "word-only", "docx", "payments-design")
    (root / "hostile").mkdir()
    (root / "hostile" / "tech-design.pdf").write_bytes(pdf_bytes(["x"], text_layer=False))
    (root / "hostile" / "notes.odt").write_bytes(b"PK")
    return root


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("tech-design.docx", True),
        ("payments-design.PDF", True),
        ("ledger-design.adoc", True),
        ("tech-design.odt", False),
        ("tech-review-design.md", False),
        ("tech-design-review.docx", False),
    ],
)
def test_designs_in_every_supported_format_follow_the_naming_rule(name: str, expected: bool) -> None:
    assert is_design(name) is expected


def test_designs_pair_with_requirements_in_any_format(tmp_path: Path) -> None:
    root = _mixed(tmp_path)
    cases = {c.key: c for c in discover(root)}
    assert set(cases) == {f"{fmt}/tech-design.{fmt}" for fmt in FORMATS} | {
        "word-only/payments-design.docx",
        "hostile/tech-design.pdf",
    }
    assert cases["docx/tech-design.docx"].requirements.name == "requirements.pdf"  # type: ignore[union-attr]
    assert cases["word-only/payments-design.docx"].requirements.name == "requirements.docx"  # type: ignore[union-attr]


def test_a_folder_with_nothing_to_review_says_what_it_saw_and_the_rule(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "tech-design.odt").write_bytes(b"PK")
    (tmp_path / "a" / "tech-review-design.md").write_text("# x\n")
    with pytest.raises(CaseError) as caught:
        discover(tmp_path)
    message = str(caught.value)
    assert "skipped 2 file(s) (a/tech-design.odt, a/tech-review-design.md)" in message
    assert "tech-design.EXT or *-design.EXT" in message and "\n" not in message
    result = runner.invoke(app, ["batch", str(tmp_path), "--db", str(tmp_path / "e.duckdb")])
    assert result.exit_code == 2 and "no designs found" in result.stderr
    assert not (tmp_path / "e.duckdb").exists()  # nothing opened or written


def test_a_mixed_batch_reviews_every_design_and_the_hostile_one_fails_alone(fake: FakeBackend, tmp_path: Path) -> None:
    root, db = _mixed(tmp_path / "cases"), tmp_path / "e.duckdb"
    summary = run_batch(discover(root), BatchOptions(db=db), backend=fake)
    status = {o.case.key: (o.status, o.message) for o in summary.outcomes}
    failed = status.pop("hostile/tech-design.pdf")
    assert failed[0] == "failed" and "has no text layer" in failed[1]
    assert {k: s for k, (s, _) in status.items()} == dict.fromkeys(status, "ok")
    assert len(status) == len(FORMATS) + 1
    rows = dict(query(db, "SELECT path, source_format || ' / ' || coalesce(converter, '-') FROM documents")[1])
    docx = rows[str(root / "docx" / "tech-design.docx")]
    assert docx.startswith("docx / markitdown ")
    assert rows[str(root / "md" / "tech-design.md")] == "markdown / -"
    assert rows[str(root / "adoc" / "tech-design.adoc")].startswith("asciidoc / asciidoctor ")
    [markdown] = query(db, "SELECT markdown FROM latest_reviews WHERE case_key = 'docx/tech-design.docx'")[1][0]
    assert "line numbers refer to the markdown converted from tech-design.docx by markitdown" in markdown
    again = run_batch(discover(root), BatchOptions(db=db), backend=fake)
    assert again.count("cached") == len(FORMATS) + 1


def test_a_new_converter_version_is_a_new_cache_key(
    fake: FakeBackend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, db = tmp_path / "cases", tmp_path / "e.duckdb"
    (root / "docs").mkdir(parents=True)
    (root / "docs" / "requirements.md").write_text("# R\n\nFR-1: accept applications asynchronously.\n")
    write_design(root / "a", "docx")
    assert run_batch(discover(root), BatchOptions(db=db), backend=fake).count("ok") == 1
    assert run_batch(discover(root), BatchOptions(db=db), backend=fake).count("cached") == 1
    monkeypatch.setattr(formats, "_version", lambda package: "99.0")
    assert run_batch(discover(root), BatchOptions(db=db), backend=fake).count("ok") == 1


def test_reviews_in_other_formats_are_ingested(tmp_path: Path) -> None:
    from evaluator.review.record import Finding, Review

    review = Review(
        title="Loans",
        profile="python-fastapi",
        overall_assessment="Good",
        completeness_score=7,
        technical_soundness_score=6,
        findings=[Finding(severity="critical", title="PAN in clear", detail="encrypt the pan_number column")],
        strengths=["clear API"],
    )
    folder = tmp_path / "reviews" / "svc"
    folder.mkdir(parents=True)
    html = "<html><body>" + _markdown_to_html(render_markdown(review)) + "</body></html>"
    (folder / "tech-design-review.html").write_text(html)
    results = ingest([tmp_path / "reviews"], tmp_path / "e.duckdb")
    assert [(r.case_key, r.status) for r in results] == [("svc/tech-design.html", "ok")], results
    rows = query(tmp_path / "e.duckdb", "SELECT title, completeness_score FROM reviews")[1]
    assert rows == [("Loans", 7.0)]
    assert case_key_for(Path("t/tech-design-review.docx"), Path("t").parent) == "t/tech-design.docx"


def _markdown_to_html(text: str) -> str:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").render(text)


def test_batch_help_shows_the_manifest_format_and_no_type_labels() -> None:
    result = runner.invoke(app, ["batch", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "[[case]]" in result.output and 'design = "payments/architecture.docx"' in result.output
    for label in ("<bool>", "<list[", "<path>", "<int"):
        assert label not in result.output, label
    ingest_help = runner.invoke(app, ["ingest", "--help"], env={"COLUMNS": "200"}).output
    assert "<list[" not in ingest_help and "PATH..." in ingest_help


def test_cli_batch_writes_junit_and_sarif_for_its_cases(tmp_path: Path) -> None:
    root, db = tmp_path / "cases", tmp_path / "e.duckdb"
    (root / "docs").mkdir(parents=True)
    (root / "docs" / "requirements.md").write_text(
        "# R\n\nFR-1: accept applications asynchronously.\n\nFR-2: the PAN shall be encrypted at rest in every table.\n"
    )
    write_design(root / "a", "html")
    junit, sarif = tmp_path / "gate.xml", tmp_path / "gate.sarif"
    args = ["batch", str(root), "--db", str(db), "--backend", "fake", "--parallel", "1"]
    args += ["--junit", str(junit), "--sarif", str(sarif)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    from junitparser import JUnitXml

    assert [c.name for s in JUnitXml.fromfile(str(junit)) for c in s] == ["a/tech-design.html"]
    import json

    log: dict[str, Any] = json.loads(sarif.read_text())
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in log["runs"][0]["results"]}
    assert uris == {_uri(root / "a" / "tech-design.html")}


def _uri(path: Path) -> str:
    from evaluator.reports.gate_files import artifact_uri

    return artifact_uri(str(path))
