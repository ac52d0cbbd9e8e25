"""Read side: score series across runs and document revisions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from evaluator.store import query

By = Literal["case", "model", "profile", "prompt"]
_BARS = "▁▂▃▄▅▆▇█"
_GROUP_COLUMN = {"model": "model_name", "profile": "profile", "prompt": "prompt_hash"}


@dataclass(frozen=True)
class Point:
    """One review (``--by case``) or one run's average (other groupings)."""

    at: datetime
    completeness: float | None
    soundness: float | None
    label: str


@dataclass(frozen=True)
class Trend:
    """The score series of one case, model, profile or prompt version."""

    key: str
    points: list[Point]

    def change(self, attribute: str) -> float | None:
        """Change of ``completeness`` or ``soundness`` since the previous point."""
        if len(self.points) < 2:
            return None
        last, previous = (getattr(p, attribute) for p in self.points[-2:][::-1])
        return None if last is None or previous is None else last - previous

    def spark(self, attribute: str) -> str:
        """Sparkline-style bars of a score series (0-10)."""
        values = [getattr(p, attribute) for p in self.points]
        return "".join(" " if v is None else _BARS[min(7, max(0, round(v / 10 * 7)))] for v in values)


def trends(db: Path, by: By = "case") -> list[Trend]:
    """Score series from the store, grouped by case or by model, profile or prompt version."""
    if by == "case":
        sql = (
            "SELECT case_key, created_at, completeness_score, technical_soundness_score, "
            "coalesce(model_name, source) || ' @ ' || coalesce(left(design_sha256, 8), '-') "
            "FROM score_trends ORDER BY case_key, point"
        )
    else:
        column = _GROUP_COLUMN[by]
        sql = (
            f"SELECT coalesce({column}, '(none)'), min(created_at), avg(completeness_score), "
            f"avg(technical_soundness_score), 'run ' || left(run_id, 8) || ' · ' || count(*) || ' reviews' "
            f"FROM reviews WHERE status = 'ok' GROUP BY 1, run_id ORDER BY 1, 2"
        )
    _, rows = query(db, sql)
    series: dict[str, list[Point]] = {}
    for key, at, completeness, soundness, label in rows:
        series.setdefault(key, []).append(Point(at, completeness, soundness, label))
    return [Trend(key, points) for key, points in series.items()]
