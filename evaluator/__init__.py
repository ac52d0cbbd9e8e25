"""evaluator: offline, local-model reviews of technical design documents."""

__version__ = "0.1.0"
