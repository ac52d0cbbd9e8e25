from __future__ import annotations

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
