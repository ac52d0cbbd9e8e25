"""The documents under review: read and validated (:mod:`.read`), decoded (:mod:`.encoding`),
converted from Word, PDF, HTML, reStructuredText and AsciiDoc (:mod:`.formats`, :mod:`.converters`),
split into passages (:mod:`.passages`) and requirement statements (:mod:`.requirements`), and
the words they are compared by (:mod:`.terms`)."""

from evaluator.documents.read import DEFAULT_MAX_BYTES, Document, Section, parse_document, read_document

__all__ = ["DEFAULT_MAX_BYTES", "Document", "Section", "parse_document", "read_document"]
