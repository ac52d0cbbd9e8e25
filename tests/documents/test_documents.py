from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from evaluator.documents.read import read_document, split_sections
from evaluator.errors import DocumentError


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"  \n\t\n", "is empty"),
        (b"# T\x00itle", "looks binary"),
        (b"caf\xe9", "not UTF-8"),
    ],
)
def test_unusable_content_is_refused_with_advice(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "design.md"
    path.write_bytes(content)
    with pytest.raises(DocumentError, match=message):
        read_document(path, role="design")


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match="design file not found"):
        read_document(tmp_path / "nope.md", role="design")
    with pytest.raises(DocumentError, match="is a directory"):
        read_document(tmp_path, role="design")


def test_size_limit(tmp_path: Path) -> None:
    path = tmp_path / "big.md"
    path.write_text("x" * 101)
    with pytest.raises(DocumentError, match=r"too large.*101 bytes.*limit is 100"):
        read_document(path, max_bytes=100)


def test_bom_and_crlf_are_normalised(tmp_path: Path) -> None:
    path = tmp_path / "d.md"
    path.write_bytes(b"\xef\xbb\xbf# Title\r\n\r\nBody\r\n")
    document = read_document(path)
    assert document.text == "# Title\n\nBody\n"
    assert document.title == "Title"


def test_hash_inside_code_fence_is_not_a_heading() -> None:
    text = "# Design\n\n## Deploy\n\n```bash\n# install deps\npip install x\n```\n\n## Risks\n\nnone\n"
    sections = split_sections(text)
    assert [(s.level, s.heading) for s in sections] == [(1, "Design"), (2, "Deploy"), (2, "Risks")]
    assert "# install deps" in sections[1].text


def test_preamble_and_setext_headings() -> None:
    sections = split_sections("intro line\n\nTitle\n=====\n\nbody\n")
    assert [(s.level, s.heading) for s in sections] == [(0, ""), (1, "Title")]
    assert "\n".join(s.text for s in sections) == "intro line\n\nTitle\n=====\n\nbody\n"


def test_title_falls_back_to_file_name(tmp_path: Path) -> None:
    path = tmp_path / "payment-service_design.md"
    path.write_text("no headings here\n")
    assert read_document(path).title == "payment service design"


def test_a_windows_1252_file_gets_a_conversion_that_keeps_its_dashes_and_quotes(tmp_path: Path) -> None:
    """Latin-1 has control characters where Windows-1252 has – and ’: the hint must name cp1252."""
    path = tmp_path / "tech-design.md"
    path.write_bytes("# Design – v2\n\nThe team’s queue retries.\n".encode("cp1252"))
    with pytest.raises(DocumentError) as caught:
        read_document(path)
    command = re.search(r"`(iconv [^`]+)`", str(caught.value))
    assert command and "cp1252" in command[1], str(caught.value)
    subprocess.run(command[1], shell=True, cwd=tmp_path, check=True)  # the command as a user would paste it
    [converted] = tmp_path.glob("*.utf8.md")
    assert read_document(converted).text == "# Design – v2\n\nThe team’s queue retries.\n"


def test_bytes_that_are_not_windows_1252_get_no_guess(tmp_path: Path) -> None:
    path = tmp_path / "tech-design.md"
    path.write_bytes(b"# Design\n\n\x81\x8d text\n")  # undefined in Windows-1252
    with pytest.raises(DocumentError, match=r"find its encoding .*iconv -f ENCODING -t utf-8"):
        read_document(path)
