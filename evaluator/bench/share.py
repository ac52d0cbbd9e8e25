"""How much of a review the model wrote: each case's latest review in a store against the same case
reviewed by the fake backend (the analyses alone) in another.

A line of a review's markdown is the model's when the analyses-only review of the same case has no
such line: the share is counted over all lines of the reviews and over the lines of the
Section-by-Section Review (where prose lives), with the seconds the reviews took. Usage::

    evaluator batch DATASET --db model.duckdb                 # the model under test
    evaluator batch DATASET --db fake.duckdb --backend fake   # the analyses alone
    python -m evaluator.bench.share model.duckdb fake.duckdb

Cases missing from either store are left out. Measured figures are in the README ("What the model
writes").
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from evaluator.store import query

_SECTIONS = "## Section-by-Section Review"


@dataclass(frozen=True)
class Share:
    """Lines of review text the model wrote, of all lines, over ``cases`` reviews."""

    cases: int
    lines: int
    model_lines: int
    section_lines: int
    section_model_lines: int
    seconds: float  # the reviews' own seconds, summed (parallel reviews overlap)

    @property
    def share(self) -> float:
        """The model's share of all review lines, 0..1."""
        return self.model_lines / self.lines if self.lines else 0.0

    @property
    def section_share(self) -> float:
        """The model's share of the Section-by-Section Review's lines, 0..1."""
        return self.section_model_lines / self.section_lines if self.section_lines else 0.0


def _reviews(db: Path) -> dict[str, tuple[str, float]]:
    _, rows = query(db, "SELECT case_key, markdown, seconds FROM latest_reviews WHERE status = 'ok'")
    return {key: (markdown or "", float(seconds or 0)) for key, markdown, seconds in rows}


def _lines(markdown: str) -> tuple[list[str], list[str]]:
    """The review's non-empty lines (not the closing comment, which names the model), and those of
    its Section-by-Section Review."""
    lines = [line.strip() for line in markdown.splitlines() if line.strip() and not line.startswith("<!--")]
    sections, inside = [], False
    for line in lines:
        if line.startswith("## "):
            inside = line == _SECTIONS
        elif inside:
            sections.append(line)
    return lines, sections


def measure(model_db: Path, fake_db: Path) -> Share:
    """Compare the latest reviews of the cases both stores hold (see the module docstring)."""
    model, fake = _reviews(model_db), _reviews(fake_db)
    cases = sorted(model.keys() & fake.keys())
    lines = model_lines = section_lines = section_model_lines = 0
    seconds = 0.0
    for key in cases:
        (text, took), (baseline, _) = model[key], fake[key]
        ours, our_sections = _lines(text)
        theirs = set(_lines(baseline)[0])
        lines += len(ours)
        model_lines += sum(line not in theirs for line in ours)
        section_lines += len(our_sections)
        section_model_lines += sum(line not in theirs for line in our_sections)
        seconds += took
    return Share(len(cases), lines, model_lines, section_lines, section_model_lines, seconds)


def main(argv: list[str]) -> int:
    """``python -m evaluator.bench.share MODEL_DB FAKE_DB``: print the figures."""
    if len(argv) != 2:
        print("usage: python -m evaluator.bench.share MODEL_DB FAKE_DB", file=sys.stderr)
        return 2
    s = measure(Path(argv[0]), Path(argv[1]))
    print(f"cases {s.cases}: the model wrote {s.model_lines} of {s.lines} lines ({s.share:.1%}); "
          f"of the section-by-section review {s.section_model_lines} of {s.section_lines} ({s.section_share:.1%}); "
          f"{s.seconds / max(s.cases, 1):.1f} s per review")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
