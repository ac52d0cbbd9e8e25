"""`python -m tests.support.ray_driver FOLDER DB ADDRESS LOG DELAY`: a batch driver on a running Ray cluster.

The Ray twin of ``tests/support/slow_batch.py``: the batch of FOLDER into DB through
:class:`~evaluator.batch.ray_executor.RayExecutor` connected to ADDRESS, two actors with the
``tests.support.ray_workers`` fake taking DELAY seconds per review and logging to LOG, so that a test
can kill this driver with SIGKILL in the middle of the batch. ADDRESS ``local``: the driver starts a
local instance of its own, as ``evaluator batch --executor ray`` without an address does.
"""

from __future__ import annotations

import sys
from functools import partial
from pathlib import Path

from evaluator.backends.fake import FakeBackend
from evaluator.batch import BatchOptions, run_batch
from evaluator.batch.cases import discover
from evaluator.batch.ray_executor import RayExecutor
from tests.support import ray_workers

if __name__ == "__main__":
    folder, db, address, log, delay = sys.argv[1:6]
    opener = partial(ray_workers.fake, log, delay=float(delay))
    run_batch(
        discover(Path(folder)),
        BatchOptions(db=Path(db)),
        backend=FakeBackend.answering(),
        executor=RayExecutor(opener, address=None if address == "local" else address, workers=2),
    )
