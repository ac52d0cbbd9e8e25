"""Where the tests find their data, and a document made from text."""

from __future__ import annotations

from pathlib import Path

from evaluator.documents.read import Document, parse_document

TESTS = Path(__file__).resolve().parent.parent
ROOT = TESTS.parent
DATASETS = ROOT / "datasets"
FIXTURES = TESTS / "fixtures"
SCHEMAS = TESTS / "schemas"


def doc(text: str, name: str = "doc.md") -> Document:
    """A validated document of ``text``, as if read from a file called ``name``."""
    return parse_document(text, Path(name))
