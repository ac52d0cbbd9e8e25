"""A local Ray instance leaves no process behind, however its driver ends.

``ray.shutdown()`` stops the local instance a batch started, but a driver killed with SIGKILL
never calls it: Ray's GCS server and raylet then exit on their own, while its dashboard agent
and runtime-env agent live on (about 170 MB, measured on this machine with Ray 2.60; they set
their process titles, which wipes their command lines and environments, so nothing in them
says which instance they belong to). So before the instance starts, a small watchdog process is
started beside the driver. While the driver lives, it notes the driver's descendants (pid and
start time) several times a second; when the pipe from the driver closes — the driver's normal
exit, or its death, whatever killed it — it ends every noted process still running (SIGTERM,
then SIGKILL after a grace period). The start time keeps a pid that the system gave to a new
process since from being taken for the old one. Processes are read from ``/proc`` (Linux);
elsewhere the watchdog notes none and Ray's own shutdown is all there is.

Children the driver had before the instance started are left alone; a program that starts
other processes of its own while a local instance runs (not the ``evaluator`` command) should
know that the watchdog ends those too when the program dies. ``python -m
evaluator.batch.ray_reaper [PID...]`` is the watchdog (its parent is the driver; the pids are
the driver's children that were there before).
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

_GRACE_S = 3.0  # between SIGTERM and SIGKILL
_POLL_S = 0.2  # how often the driver's descendants are noted


@contextmanager
def reaped() -> Iterator[None]:
    """Processes this one starts inside the block (Ray's local instance) end when the block ends or this
    process dies. Start the instance inside the block and stop it before leaving."""
    earlier = descendants({os.getpid()})  # this process's own children so far are not the instance's
    watchdog = subprocess.Popen(
        [sys.executable, "-m", "evaluator.batch.ray_reaper", *map(str, earlier)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # a Ctrl-C to the driver's process group leaves it to clean up
    )
    if watchdog.stdout is not None:
        watchdog.stdout.readline()  # it notes processes from now on: the instance may start
    try:
        yield
    finally:
        if watchdog.stdin is not None:
            watchdog.stdin.close()  # what the driver's death does too
        with suppress(subprocess.TimeoutExpired):
            watchdog.wait(timeout=_GRACE_S + 5)


def _processes() -> dict[int, tuple[int, int]]:
    """Every running process: pid -> (parent pid, start time in clock ticks since boot)."""
    table = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # gone meanwhile
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # the command name may hold spaces and parentheses
        table[int(entry.name)] = (int(fields[1]), int(fields[19]))
    return table


def descendants(roots: set[int], table: dict[int, tuple[int, int]] | None = None) -> dict[int, int]:
    """The running descendants of ``roots``: pid -> start time."""
    table = _processes() if table is None else table
    children: dict[int, list[int]] = {}
    for pid, (parent, _) in table.items():
        children.setdefault(parent, []).append(pid)
    found: dict[int, int] = {}
    todo = list(roots)
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found[child] = table[child][1]
                todo.append(child)
    return found


def reap(noted: dict[int, int]) -> list[int]:
    """End every noted process still running as itself (same start time), and what it started meanwhile:
    SIGTERM, then SIGKILL what is left after :data:`_GRACE_S`. Returns the pids signalled."""

    def alive() -> dict[int, int]:
        table = _processes()
        running = {pid: start for pid, start in noted.items() if pid in table and table[pid][1] == start}
        return running | descendants(set(running), table)

    victims = alive()
    for pid in victims:
        with suppress(OSError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + _GRACE_S
    while time.monotonic() < deadline and alive():
        time.sleep(0.1)
    for pid in alive():
        with suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    return list(victims)


def main(argv: list[str]) -> int:
    """The watchdog: note the driver's descendants (but itself and the pids in ``argv``, which were there
    before, with theirs) until the driver's pipe closes, then reap them."""
    driver, me, earlier = os.getppid(), os.getpid(), {int(pid) for pid in argv}
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # only the pipe ends it
    noted: dict[int, int] = {}
    stdin = sys.stdin.fileno()
    print("noting", flush=True)
    while True:
        table = _processes()
        excluded = {me, *earlier} | set(descendants({me, *earlier}, table))
        noted.update({pid: start for pid, start in descendants({driver}, table).items() if pid not in excluded})
        ready, _, _ = select.select([stdin], [], [], _POLL_S)
        if ready and not os.read(stdin, 4096):
            break
    reap(noted)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
