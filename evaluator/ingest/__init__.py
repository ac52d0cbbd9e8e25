"""Storing reviews written by people or other tools: found and filed (:mod:`.reviews`), parsed from
their markdown (:mod:`.parse`, line by line in :mod:`.lines`)."""

from evaluator.ingest.parse import ParsedReview, parse_review
from evaluator.ingest.reviews import Ingested, ingest

__all__ = ["Ingested", "ParsedReview", "ingest", "parse_review"]
