"""What every importer returns (:mod:`evaluator.documents.imports`): the requirements it read and its notes."""

from __future__ import annotations

from dataclasses import dataclass

DOORSTOP_CONFIG = ".doorstop.yml"


@dataclass(frozen=True)
class Item:
    """One requirement as an importer found it: its id, title ("" when none), text, the headings
    it sits under (outermost first) and its place in the export."""

    id: str
    title: str
    text: str
    path: tuple[str, ...]
    source: str


@dataclass(frozen=True)
class Imported:
    """What an importer read: the export's title, its requirements in order, the tool that read it
    ("reqif 0.1.0") and notes on what it did not take."""

    title: str
    items: list[Item]
    reader: str
    notes: list[str]


def duplicate_note(items: list[Item]) -> list[str]:
    """A note naming ids that occur more than once (they are numbered ``#2``, ``#3`` … in order)."""
    counts: dict[str, int] = {}
    for item in items:
        counts[item.id] = counts.get(item.id, 0) + 1
    twice = [i for i, n in counts.items() if n > 1]
    if not twice:
        return []
    shown = ", ".join(twice[:5]) + (f" and {len(twice) - 5} more" if len(twice) > 5 else "")
    return [f"{len(twice)} id(s) occur more than once ({shown}): the repeats are numbered ID#2, ID#3, …"]
