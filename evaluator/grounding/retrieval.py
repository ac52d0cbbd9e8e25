"""BM25 retrieval over a design's passages (bm25s), on Snowball stems."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from evaluator.documents.passages import Passage
from evaluator.documents.terms import content_stems


class Retriever:
    """Ranks passages by BM25 (Robertson & Zaragoza, 2009; k1 = 1.5, b = 0.75, bm25s defaults)."""

    def __init__(self, passages: Sequence[Passage]) -> None:
        self.passages = list(passages)
        self.stems = [set(content_stems(p.text + " " + p.heading)) for p in self.passages]
        self._index: Any = None
        if self.passages:
            import bm25s  # numpy comes with it: imported only when a review runs

            self._index = bm25s.BM25()
            corpus = [content_stems(p.text + " " + p.heading) or ["_"] for p in self.passages]
            self._index.index(corpus, show_progress=False)

    def search(self, stems: Sequence[str], k: int = 5) -> list[tuple[Passage, float]]:
        """The ``k`` best passages for a query of stems, best first, score > 0 only."""
        if self._index is None or not stems:
            return []
        k = min(k, len(self.passages))
        ids, scores = self._index.retrieve([list(stems)], k=k, show_progress=False)
        return [(self.passages[int(i)], float(s)) for i, s in zip(ids[0], scores[0], strict=True) if s > 0]
