"""The shared text helpers: normalising, quote matching, dedup and part packing."""

from __future__ import annotations

import pytest

from evaluator.review.record import Finding
from evaluator.text import dedupe, normalise, one_line, quote_found


def test_one_line_collapses_whitespace_and_keeps_case() -> None:
    assert one_line("  Card\tnumbers \n\n stored  ") == "Card numbers stored"


def test_normalise_drops_case_emphasis_and_quote_marks() -> None:
    assert normalise("The **PAN** is `stored`\n in “plain” text") == "the pan is stored in plain text"


def test_dedupe_keeps_the_first_of_each_title_or_text() -> None:
    a = Finding(severity="critical", title="Encrypt **PAN**", detail="first")
    b = Finding(severity="suggestion", title="encrypt pan", detail="second")
    assert dedupe([a, b]) == [a]
    assert dedupe(["Uses Kafka", "uses  `kafka`", "Idempotent"]) == ["Uses Kafka", "Idempotent"]
    assert dedupe([{"title": "X"}, {"title": "x"}, {"title": "y"}]) == [{"title": "X"}, {"title": "y"}]


@pytest.mark.parametrize(
    ("quote", "found"),
    [
        ("stored in plain text", True),
        ("Stored  in\nPLAIN `text`.", True),
        ('"pan_number column"', True),
        ("encrypted at rest", False),
        ("...", False),
    ],
)
def test_quote_matching_ignores_case_whitespace_and_emphasis(quote: str, found: bool) -> None:
    assert quote_found(quote, "The **pan_number** column is stored in plain text.") is found
