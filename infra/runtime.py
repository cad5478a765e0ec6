"""How a dipwatch process sets up the interpreter: the cyclic garbage collector.

The engine allocates many short-lived objects per event (records, fold states, alert
models) while it holds a large, long-lived heap (every dyad's log). CPython's default
collector runs a young collection every 700 net allocations and, now and then, walks
the whole heap; almost none of this garbage is cyclic (reference counting frees it), so
those walks find nothing. A larger first threshold makes them rare: in process, the
worker's per-batch work (decode, folds, changelog values) on a 50,000-event synthetic
log ran 5.6-5.8k events/s with the default and 7.5-7.7k with 50,000 (docs/PERFORMANCE.md).
Cycles are still collected, only later.

A command that reads a whole log into memory (``replay``, ``timeline``) builds a heap
that only grows: every collection of the older generations walks all of it and frees
nothing (decoded events are acyclic, and all kept). :func:`no_cycle_collection` pauses
the collector while such a structure is built, then freezes it out of later collections
(the first one would walk it all): reading 100,000 synthetic events took 1.73-1.81 s
with the threshold above, 1.28-1.34 s so (docs/PERFORMANCE.md).

A long-running process (the worker, its fold process) meets a third cost: every
collection of the oldest generation walks everything the process holds, and most of
that is what its imports built — modules, classes, pydantic's schemas, Faust's services
— which lives as long as the process. On this project's 2-core machine a full
collection of the imports alone (~72,000 objects) took 73-93 ms, and in a worker under
load each one stalled Faust's process for 124-154 ms of CPU and the fold process for
77-89 ms (docs/PERFORMANCE.md, "Session 17"). :func:`freeze_startup` collects once and
freezes what is left out of later collections (with it, they took 3-5 ms); what the
process allocates from then on is collected as before. The latency probe uses it; the
worker and its fold process do not yet: one run of the Apache Kafka suite hung at a
worker's restart once they did, the cause not found (docs/PERFORMANCE.md).

Such a command then ends: the interpreter would free that heap object by object before
the process exits (0.25-0.3 s for 100,000 events). :func:`skip_teardown` asks the
console script to flush its output and leave that to the operating system
(:func:`end_process`).
"""

from __future__ import annotations

import gc
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = [
    "end_process",
    "freeze_startup",
    "no_cycle_collection",
    "skip_teardown",
    "teardown_skipped",
    "tune_gc",
]

_skip_teardown = False


def tune_gc(threshold: int) -> None:
    """Collect the youngest generation every ``threshold`` net allocations (CPython's
    default is 700); the older generations keep CPython's ratios. 0 leaves it as is."""
    if threshold > 0:
        _, older, oldest = gc.get_threshold()
        gc.set_threshold(threshold, older, oldest)


def freeze_startup() -> int:
    """Collect the garbage of the start-up, then move every object still tracked into the
    collector's permanent generation (``gc.freeze``), out of later collections: what is
    alive once a long-running process is ready lives as long as it does. Reference
    counting still frees a frozen object no longer referenced; only a cycle of frozen
    objects would stay. (The latency probe calls it too, once its records are built and
    before its clock starts.) Return how many objects were frozen."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


@contextmanager
def no_cycle_collection() -> Iterator[None]:
    """No cyclic collection within the block (reference counting still frees all that is
    not kept); then what it built is frozen out of later collections (``gc.freeze``:
    else the first collection after it walks all of it), and the collector is as it was."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was:
            gc.enable()


def skip_teardown() -> None:
    """Ask the console script (``dipwatch.cli.main``, never a command run in process, as
    tests run them) to end this process with :func:`end_process` when the command ends."""
    global _skip_teardown
    _skip_teardown = True


def teardown_skipped() -> bool:
    """Whether the command asked to skip the interpreter's teardown."""
    return _skip_teardown


def end_process(code: int) -> None:
    """Flush the output streams and the logging handlers, then exit with ``code`` at
    once: no object is freed one by one and no ``atexit`` hook runs (the command's own
    files are closed; forked helpers were joined)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (``| head``): output was lost
            code = code or 1
    logging.shutdown()
    os._exit(code)
