"""The overnight batch: plan (:mod:`.plan`), execute on one executor protocol (:mod:`.executors`:
threads; :mod:`.ray_executor`: Ray), with workers that open their own backends (:mod:`.workers`),
and record through one writer (:mod:`.run`). Beside it: finding the cases (:mod:`.cases`), how many
to decode together (:mod:`.capacity`), labelled datasets (:mod:`.labels`) and calibration
(:mod:`.calibration`)."""

from evaluator.batch.executors import Executor, ThreadExecutor
from evaluator.batch.plan import BatchObserver, BatchOptions, BatchSummary, CaseOutcome, Job, Plan, plan_batch
from evaluator.batch.run import Recorder, run_batch

__all__ = [
    "BatchObserver",
    "BatchOptions",
    "BatchSummary",
    "CaseOutcome",
    "Executor",
    "Job",
    "Plan",
    "Recorder",
    "ThreadExecutor",
    "plan_batch",
    "run_batch",
]
