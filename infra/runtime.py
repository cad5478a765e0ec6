"""How a dipwatch process sets up the interpreter: the cyclic garbage collector.

The engine allocates many short-lived objects per event (records, fold states, alert
models) while it holds a large, long-lived heap (every dyad's log). CPython's default
collector runs a young collection every 700 net allocations and, now and then, walks
the whole heap; almost none of this garbage is cyclic (reference counting frees it), so
those walks find nothing. A larger first threshold makes them rare: in process, the
worker's per-batch work (decode, folds, changelog values) on a 50,000-event synthetic
log ran 5.6-5.8k events/s with the default and 7.5-7.7k with 50,000 (docs/PERFORMANCE.md).
Cycles are still collected, only later.
"""

from __future__ import annotations

import gc

__all__ = ["tune_gc"]


def tune_gc(threshold: int) -> None:
    """Collect the youngest generation every ``threshold`` net allocations (CPython's
    default is 700); the older generations keep CPython's ratios. 0 leaves it as is."""
    if threshold > 0:
        _, older, oldest = gc.get_threshold()
        gc.set_threshold(threshold, older, oldest)
