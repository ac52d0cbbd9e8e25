"""evaluator: offline, local-model reviews of technical design documents.

The library API: :func:`review_files` (one design against its requirements), :func:`run_batch`
(a folder of cases into the DuckDB store) and :func:`calibrate` (a labelled dataset, measured).
They are imported on first use, so that ``import evaluator`` (and ``evaluator --help``) stays
light. Nothing inside the package imports this face.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from evaluator.lazy import lazy_exports
from evaluator.version import __version__

if TYPE_CHECKING:
    from evaluator.api import review_files
    from evaluator.batch.calibration import calibrate
    from evaluator.batch.run import run_batch

__all__ = ["__version__", "calibrate", "review_files", "run_batch"]

__getattr__ = lazy_exports(
    __name__,
    {"review_files": "evaluator.api", "run_batch": "evaluator.batch.run", "calibrate": "evaluator.batch.calibration"},
)
