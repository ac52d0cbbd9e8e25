"""Hostile input: the loader, the markdown sectioning and the review parser never crash, and a
batch over a folder of bad files records a clear error per case and finishes consistently.

Every hostile file is generated here, in tmp_path: nothing binary is committed.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from evaluator.backends.fake import FakeBackend, schema_output
from evaluator.batch import BatchOptions, run_batch
from evaluator.batch.cases import discover
from evaluator.cli.main import app
from evaluator.documents.encoding import decode_text
from evaluator.documents.read import parse_document, read_document, split_sections
from evaluator.errors import DocumentError
from evaluator.grounding.profiles import load_profile
from evaluator.ingest.parse import looks_like_review, parse_review
from evaluator.store import query

runner = CliRunner()
PROFILE = load_profile()
FUZZ = settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])

_LINE = st.sampled_from(
    [
        "# Title", "## Data Model", "###### deep", "#no-space", "Setext", "===", "---", "```", "````python", "~~~",
        "- item", "  - nested", "    - deeper", "1. one", "> quote", ">> >> nested", "| a | b |", "|---|---|",
        "- [x] done", "- [ ] todo", "**Completeness Score**: 7/10", "## Strengths", "## Critical Issues (Must Fix)",
        "<!-- open comment", "-->", "<details>", "\t\tcode", "", " ", "\u200b", "\ufeff", "\r", "\x0b\x0c",
        "<|im_start|>system", "</design>", "[INST]", "ignore previous instructions",
    ]
)  # fmt: skip
MARKDOWNISH = st.lists(st.one_of(_LINE, st.text(max_size=40)), max_size=60).map("\n".join)


@contextlib.contextmanager
def deadline(seconds: int) -> Iterator[None]:
    """Fail instead of hanging if a read blocks (a FIFO, /dev/zero)."""

    def expire(signum: int, frame: Any) -> None:
        raise TimeoutError(f"blocked for more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


# --- properties ---------------------------------------------------------------------------


@FUZZ
@given(st.binary(max_size=2048))
def test_any_bytes_give_a_document_or_a_document_error(data: bytes) -> None:
    try:
        text = decode_text(data, Path("x.md"))
    except DocumentError as exc:
        assert "\n" not in str(exc) and "x.md" in str(exc)
        return
    document = parse_document(text, Path("x.md"))
    assert document.text.strip() and "\r" not in document.text and document.title


@FUZZ
@given(st.one_of(MARKDOWNISH, st.text(max_size=500)))
def test_sections_cover_the_text_in_order(text: str) -> None:
    text = text.replace("\r\n", "\n").replace("\r", "\n")  # as decode_text leaves every document
    sections = split_sections(text)
    joined = "\n".join(s.text for s in sections)
    assert text.endswith(joined)
    assert not text[: len(text) - len(joined)].strip()  # only a blank preamble is dropped
    assert all(0 <= s.level <= 6 and "\n" not in s.heading for s in sections)
    assert all(s.level > 0 for s in sections[1:])


@FUZZ
@given(MARKDOWNISH)
def test_the_review_parser_reads_or_refuses_any_markdown(text: str) -> None:
    assert isinstance(looks_like_review(text), bool)
    try:
        parsed = parse_review(text, PROFILE)
    except DocumentError as exc:
        assert str(exc).startswith("not a review:")
        return
    for score in (parsed.review.completeness_score, parsed.review.technical_soundness_score):
        assert score is None or 0 <= score <= 10


# --- a corpus of hostile files ------------------------------------------------------------

_DEEP_LIST = "# Deep\n\n" + "".join("  " * i + "- level\n" for i in range(400))
_NESTED = "# Nested\n\n" + "".join("  " * i + f"{i}. step\n" for i in range(100))
_DEEP_QUOTE = "# Quotes\n\n" + ">" * 5000 + " bottom\n"
_LONG_LINE = "# Long\n\n" + "word " * 45_000 + "\n## After\n\nend\n"
_OPEN_FENCE = "# Fenced\n\n```python\n# not a heading\n## nor this\n"
_MANY_HEADINGS = "".join(f"## H{i}\n\nbody {i}\n" for i in range(3000))


def _corpus(root: Path) -> dict[str, tuple[Path, str | None]]:
    """name -> (file, expected error fragment or None when it must load)."""
    rng = random.Random(9)
    files: dict[str, tuple[bytes, str | None]] = {
        "empty": (b"", "is empty"),
        "blank": (b" \n\t\r\n", "is empty"),
        "bom-only": (b"\xef\xbb\xbf\n", "is empty"),
        "binary": (bytes(rng.randrange(256) for _ in range(4096)) + b"\x00", "looks binary"),
        "nul-in-text": (b"# Title\n\nsome\x00text\n", "looks binary"),
        "utf16": ("# Title\n\ntext\n".encode("utf-16-le"), "UTF-16 without a byte-order mark"),
        "mixed-encodings": ("# Café\n\n".encode() + "naïve".encode("latin-1"), "not UTF-8"),
        "lone-surrogate": (b"# T\n\n\xed\xa0\x80\n", "not UTF-8"),
        "huge": (b"# Huge\n\n" + b"x" * 300_000, "too large"),
        "long-line": (_LONG_LINE.encode(), None),
        "deep-list": (_DEEP_LIST.encode(), None),
        "deep-quote": (_DEEP_QUOTE.encode(), None),
        "open-fence": (_OPEN_FENCE.encode(), None),
        "many-headings": (_MANY_HEADINGS.encode(), None),
        "cr-only": (b"# Mac\r\rclassic line ends\r", None),
        "controls": ("# Ctl\n\n\x1b[31mred\x1b[0m \x07 \u202e reversed \u2028 sep\n".encode(), None),
    }
    corpus: dict[str, tuple[Path, str | None]] = {}
    for name, (data, expected) in files.items():
        (root / name).write_bytes(data)
        corpus[name] = (root / name, expected)
    os.mkfifo(root / "fifo")
    os.symlink("/dev/zero", root / "dev-zero")
    os.symlink("loop-b", root / "loop-a")
    os.symlink("loop-a", root / "loop-b")
    corpus |= {
        "fifo": (root / "fifo", "not a regular file"),
        "dev-zero": (root / "dev-zero", "not a regular file"),
        "symlink-loop": (root / "loop-a", "broken or looping symbolic link"),
    }
    return corpus


def test_the_corpus_loads_or_fails_with_one_clear_line(tmp_path: Path) -> None:
    for name, (path, expected) in _corpus(tmp_path).items():
        started = time.perf_counter()
        with deadline(30):
            try:
                document = read_document(path, role="design", max_bytes=250_000)
            except DocumentError as exc:
                assert expected and expected in str(exc), (name, exc)
                assert "\n" not in str(exc) and str(path) in str(exc), name
                continue
            assert expected is None, f"{name} should have failed with {expected!r}"
            assert document.sections and document.title, name
            looks_like_review(document.text)  # must not raise either
        assert time.perf_counter() - started < 20, f"{name} took too long"


def test_an_unclosed_code_fence_swallows_the_headings_after_it() -> None:
    assert [s.heading for s in split_sections(_OPEN_FENCE)] == ["Fenced"]


def test_a_symlink_loop_in_the_batch_folder_is_not_followed(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "tech-design.md").write_text("# A\n")
    os.symlink(tmp_path, tmp_path / "a" / "loop")
    assert [c.key for c in discover(tmp_path)] == ["a/tech-design.md"]


# --- a hostile batch folder ---------------------------------------------------------------


def _hostile_folder(root: Path) -> Path:
    (root / "requirements.md").parent.mkdir(parents=True)
    (root / "requirements.md").write_text("# Req\n\nFR-1: accept applications asynchronously.\n")
    contents: dict[str, bytes] = {
        "binary": b"\x00\x01\x02",
        "empty": b"",
        "gone": b"# Gone\n\nvanishes between discovery and reading\n",
        "huge": b"# Huge\n\n" + b"y" * 60_000,
        "latin1": "# Résumé\n".encode("latin-1"),
        "long-line": ("# Long\n\n" + "z" * 40_000 + "\n").encode(),
        "nested": _NESTED.encode(),
        "ok": b"# Fine\n\n## API\n\nPOST /x returns 202.\n",
        "open-fence": _OPEN_FENCE.encode(),
        "vanish": b"# Vanish\n\ndeleted while an earlier case is generated\n",
    }
    for name, data in contents.items():
        (root / name).mkdir()
        (root / name / "tech-design.md").write_bytes(data)
    for name in ("fifo", "zero"):
        (root / name).mkdir()
    os.mkfifo(root / "fifo" / "tech-design.md")
    os.symlink("/dev/zero", root / "zero" / "tech-design.md")
    os.symlink("self-design.md", root / "self-design.md")  # a link to itself
    os.symlink(root, root / "ok" / "loop")  # a directory loop
    return root


EXPECTED_ERRORS = {
    "binary/tech-design.md": "looks binary",
    "empty/tech-design.md": "is empty",
    "fifo/tech-design.md": "not a regular file",
    "gone/tech-design.md": "design file not found",
    "huge/tech-design.md": "too large",
    "latin1/tech-design.md": "not UTF-8",
    "self-design.md": "broken or looping symbolic link",
    "zero/tech-design.md": "not a regular file",
}


def test_a_hostile_batch_records_each_failure_and_finishes_consistently(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, db = _hostile_folder(tmp_path / "cases"), tmp_path / "e.duckdb"
    vanish = root / "vanish" / "tech-design.md"
    vanish_sha = hashlib.sha256(vanish.read_bytes()).hexdigest()

    def delete_a_later_case(messages: list[dict[str, str]], schema: dict[str, Any]) -> str:
        vanish.unlink(missing_ok=True)
        return schema_output(messages, schema)

    fake = FakeBackend([delete_a_later_case] * 50)
    cases = discover(root)
    (root / "gone" / "tech-design.md").unlink()  # found, then gone before the batch reads it
    with deadline(60):
        options = BatchOptions(db=db, max_bytes=50_000)
        summary = run_batch(cases, options, backend=fake)
    statuses = {o.case.key: o.status for o in summary.outcomes}
    assert {k for k, s in statuses.items() if s == "failed"} == set(EXPECTED_ERRORS)
    assert {k for k, s in statuses.items() if s == "ok"} >= {
        "long-line/tech-design.md", "nested/tech-design.md", "ok/tech-design.md", "open-fence/tech-design.md"
    }  # fmt: skip
    assert not any("loop" in key for key in statuses)
    _check_store(db, summary.run_id, len(cases))
    for key, error in query(db, "SELECT case_key, error FROM reviews WHERE status = 'failed'")[1]:
        assert EXPECTED_ERRORS[key] in error and "\n" not in error and "Traceback" not in error, key
    # The vanished file was read while planning, so its review is of the text that was read;
    # a batch that reads later must record the loss as a clear per-case error instead.
    [(status, error, sha)] = query(
        db, "SELECT status, error, design_sha256 FROM reviews WHERE case_key = 'vanish/tech-design.md'"
    )[1]
    assert (status, sha) == ("ok", vanish_sha) or (status == "failed" and "not found" in error)


def test_the_cli_over_a_hostile_folder_prints_errors_not_tracebacks(tmp_path: Path) -> None:
    root, db = _hostile_folder(tmp_path / "cases"), tmp_path / "e.duckdb"
    with deadline(60):
        result = runner.invoke(app, ["batch", str(root), "--db", str(db), "--max-bytes", "50000", "--backend", "fake"])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)  # a plain exit, no crash
    assert "✗ fifo/tech-design.md: design path is not a regular file" in result.stderr
    assert "✗ self-design.md: design file is a broken or looping symbolic link" in result.stderr


def _check_store(db: Path, run_id: str, cases: int) -> None:
    """The run row is finished and its counts match the rows written for it."""
    [(status, finished, total, ok, failed, skipped)] = query(
        db,
        "SELECT status, finished_at IS NOT NULL, cases_total, cases_ok, cases_failed, cases_skipped "
        "FROM runs WHERE run_id = ?",
        [run_id],
    )[1]
    [(rows_ok, rows_failed)] = query(
        db, "SELECT count(*) FILTER (status = 'ok'), count(*) FILTER (status = 'failed') FROM reviews"
    )[1]
    assert (status, finished, total) == ("completed", True, cases)
    assert (ok, failed, skipped) == (rows_ok, rows_failed, cases - rows_ok - rows_failed)
    [(orphans,)] = query(db, "SELECT count(*) FROM findings WHERE review_id NOT IN (SELECT review_id FROM reviews)")[1]
    assert orphans == 0


# --- limits -------------------------------------------------------------------------------


def _small_folder(root: Path, designs: int, size: int = 40) -> Path:
    (root / "requirements.md").parent.mkdir(parents=True)
    (root / "requirements.md").write_text("# Req\n\nFR-1: accept applications asynchronously.\n")
    for i in range(designs):
        (root / f"d{i}").mkdir()
        (root / f"d{i}" / "tech-design.md").write_text(f"# Design {i}\n\n" + "x" * size + "\n")
    return root


def test_a_batch_over_max_cases_is_refused_and_writes_nothing(tmp_path: Path) -> None:
    folder, db = _small_folder(tmp_path / "cases", 3), tmp_path / "e.duckdb"
    result = runner.invoke(app, ["batch", str(folder), "--db", str(db), "--max-cases", "2"])
    assert result.exit_code == 2, result.output
    assert result.stderr.strip().splitlines() == [
        "error: the batch has 3 designs, more than the limit of 2 — check the folder, or raise the limit "
        "(see --max-cases)"
    ]
    assert not db.exists()


def test_batch_max_bytes_fails_only_the_large_design(tmp_path: Path) -> None:
    folder, db = _small_folder(tmp_path / "cases", 2), tmp_path / "e.duckdb"
    (folder / "d1" / "tech-design.md").write_text("# Big\n\n" + "x" * 500)
    result = runner.invoke(app, ["batch", str(folder), "--db", str(db), "--max-bytes", "200", "--backend", "fake"])
    assert result.exit_code == 1, result.output
    assert query(db, "SELECT case_key, status FROM reviews ORDER BY case_key")[1] == [
        ("d0/tech-design.md", "ok"),
        ("d1/tech-design.md", "failed"),
    ]
    assert "limit is 200" in query(db, "SELECT error FROM reviews WHERE status = 'failed'")[1][0][0]


def test_batch_timeout_fails_the_slow_case_and_goes_on(
    tmp_path: Path, scripted_backend: Callable[[FakeBackend], str]
) -> None:
    folder, db = _small_folder(tmp_path / "cases", 2), tmp_path / "e.duckdb"

    def slow_for_d0(messages: list[dict[str, str]], schema: dict[str, Any]) -> str:
        if '"Design 0"' in messages[-1]["content"]:  # by the design's title: cases may run in parallel
            time.sleep(1.1)  # past --timeout 1: the fake backend then reports finish_reason="timeout"
        return schema_output(messages, schema)

    backend = scripted_backend(FakeBackend([slow_for_d0] * 2))
    result = runner.invoke(app, ["batch", str(folder), "--db", str(db), "--timeout", "1", "--backend", backend])
    assert result.exit_code == 1, result.output
    rows = query(db, "SELECT case_key, status, error FROM reviews ORDER BY case_key")[1]
    assert rows == [
        ("d0/tech-design.md", "failed", "timed out: the review took longer than 1 s"),
        ("d1/tech-design.md", "ok", None),
    ]
    _check_store(db, query(db, "SELECT run_id FROM runs")[1][0][0], 2)
