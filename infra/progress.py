"""What a worker's engine tells about itself, for ``/healthz`` and ``/metrics``.

The engine (streams/) writes it; the query side reads it. Wall-clock (monotonic) times:
this is about the process, not about event time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

__all__ = ["Progress"]


@dataclass
class Progress:
    """The fold agent's liveness: when it last finished a batch, whether it crashed,
    and how far it has read each partition."""

    last_batch_at: float | None = None
    #: When the agent could last begin to read (its start, or the end of a rebalance and
    #: its recovery): a stall counts from it or from the last batch, the later.
    reading_since: float = field(default_factory=time.monotonic)
    #: Why the agent stopped, if it did: nothing folds any more on this worker.
    crashed: str | None = None
    #: Why the worker stops to be restarted, if it does (streams/watchdog.py).
    restart_reason: str | None = None
    #: Next offset to read, per (topic, partition): past the last batch, or the committed
    #: offset a partition is read from after a start or a rebalance (:meth:`starting`).
    next_offsets: dict[tuple[str, int], int] = field(default_factory=dict)
    #: Returns the log end offset per (topic, partition) of the partitions the worker
    #: owns (set by the engine, which knows its consumer).
    highwaters: Callable[[], Mapping[tuple[str, int], int]] = dict

    def batch_done(self, offsets: Mapping[tuple[str, int], int]) -> None:
        """Record a finished batch and the next offset it leaves per partition. (A worker
        that failed stays failed until its restart: outcomes of batches sent before the
        failure may still be carried out, and say nothing of its health.)"""
        self.last_batch_at = time.monotonic()
        self.next_offsets.update(offsets)

    def starting(self, offsets: Mapping[tuple[str, int], int]) -> None:
        """Partitions are read from these offsets (their committed ones, after a start or
        a rebalance): nothing below them waits, even if no batch came since (a worker
        restarted with nothing new to read is not behind). Offsets already folded past
        them stay."""
        for tp, offset in offsets.items():
            self.next_offsets[tp] = max(offset, self.next_offsets.get(tp, offset))

    def waiting(self) -> dict[tuple[str, int], tuple[int, int]]:
        """The owned partitions with records not yet folded: (next offset, log end)."""
        ends = self.highwaters()
        return {
            tp: (self.next_offsets.get(tp, 0), end)
            for tp, end in ends.items()
            if end > self.next_offsets.get(tp, 0)
        }

    def lag(self) -> dict[tuple[str, int], int]:
        """Records not yet folded, per owned partition."""
        return {
            tp: max(end - self.next_offsets.get(tp, 0), 0) for tp, end in self.highwaters().items()
        }

    def stalled_for(self, now: float | None = None) -> float:
        """Seconds since the agent last advanced while records wait; 0 if none wait."""
        if not any(self.lag().values()):
            return 0.0
        since = max(self.last_batch_at or 0.0, self.reading_since)
        return (now if now is not None else time.monotonic()) - since
