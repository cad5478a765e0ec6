"""The charts' weekly conflict history of each pair, folded from the events topic as the
worker folds it: what the worker refused is not in it.

The worker refuses (dead-letters) a record dated more than the allowed lateness behind
its pair's watermark, which its partition's ticks and the pair's own timers move — the
chart cannot tell that from the events topic alone (only the folds know the timers). So
it also follows the dead-letter topic: a record the worker refused as too late, or for
the tombstones it would have added (``crowded``), or because a fold failed on it, is
taken back out of the chart (:meth:`Guarded.undo`), or skipped if the chart reads the
refusal first. Only a record read more than the lateness behind its partition's
watermark (the worker's is never ahead of it), or a retraction or correction, can be
refused so; what the chart did for those is kept, by source offset, until the refusal
comes or the horizon passes. The chart therefore ends as the worker's log, in any
order of reading the two topics (tests/unit/test_chart.py).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Final

from folds.guard import Guarded, TooLate, Undo
from folds.history import ConflictHistory, HistoryState
from infra.topics import KIND_HEADER, SOURCE_HEADER
from schemas.codec import decode_event
from schemas.errors import InvalidRecord
from schemas.events import check_log_time
from schemas.ticks import TICK_KEY, parse_tick

__all__ = ["NOT_FOLDED", "Chart"]

#: The dead letters' kinds of records the worker did not fold though the chart could
#: read them (``unmatched`` ones were folded; invalid ones the chart skips too).
NOT_FOLDED: Final = frozenset({"too_late", "crowded", "fold_failed"})

Where = tuple[int, int]  #: (partition, offset) of an events-topic record


class Chart:
    """Each pair's :class:`HistoryState` behind its dedup guard (see the module docstring)."""

    def __init__(
        self, history: ConflictHistory, horizon_days: int, lateness_days: float, events: str
    ) -> None:
        self.history = history
        self.histories: dict[str, Guarded[HistoryState]] = {}
        self.horizon_days = horizon_days
        self.lateness = timedelta(days=lateness_days)
        self.events = events
        #: Each partition's watermark as the worker's engine moves it: events and ticks.
        self._wm: dict[int, datetime] = {}
        #: The next offset to read of each partition.
        self._next: dict[int, int] = {}
        #: What the chart did for each record the worker may refuse: (pair, date, undo).
        self._maybe: dict[Where, tuple[str, datetime, list[Undo]]] = {}
        #: Records the worker refused, not read yet: skipped when they come.
        self._refused: set[Where] = set()

    def on_event(
        self,
        key: bytes | None,
        value: bytes | None,
        timestamp_s: float | None,
        partition: int = 0,
        offset: int | None = None,
    ) -> None:
        """Fold an events-topic record into its pair's history, as the worker would:
        invalid, mis-keyed (the worker re-sends those) and too-late records are skipped,
        a redelivery counts once, a record the worker refused does not count."""
        if offset is not None:
            self._next[partition] = offset + 1
            if (partition, offset) in self._refused:
                self._refused.discard((partition, offset))
                return
        if key == TICK_KEY:
            with contextlib.suppress(InvalidRecord):  # the worker dead-letters it
                self._advance(partition, parse_tick(value))
            return
        try:
            event = decode_event(value)
            check_log_time(event, timestamp_s)
        except InvalidRecord:
            return
        dyad = event.dyad
        if key != dyad.encode():
            return
        at, wm = event.occurred_at, self._wm.get(partition)
        maybe = offset is not None and (
            (wm is not None and at < wm - self.lateness) or bool(event.retracts or event.corrects)
        )
        undo: list[Undo] | None = [] if maybe else None
        guard = Guarded.of(self.history, dyad, self.histories.get(dyad), self.horizon_days)
        try:
            guard.apply(self.history, event, undo)
        except TooLate:
            return
        finally:
            self._advance(partition, at)
        self.histories[dyad] = guard
        if undo:
            assert offset is not None
            self._maybe[partition, offset] = (dyad, at, undo)

    def on_dead_letter(self, headers: Iterable[tuple[str, bytes]]) -> None:
        """Take out of the chart an events-topic record the worker refused (by the dead
        letter's kind and source headers), or skip it when it comes."""
        found = dict(headers)
        if found.get(KIND_HEADER, b"").decode() not in NOT_FOLDED:
            return
        try:
            topic, partition, offset = found[SOURCE_HEADER].decode().rsplit(":", 2)
            where = (int(partition), int(offset))
        except (KeyError, ValueError):
            return
        if topic != self.events:
            return
        did = self._maybe.pop(where, None)
        if did is not None:
            guard = self.histories[did[0]]
            guard.undo(self.history, did[2])
        elif where[1] >= self._next.get(where[0], 0):
            self._refused.add(where)  # not read yet: skipped when it comes

    def _advance(self, partition: int, at: datetime) -> None:
        wm = self._wm.get(partition)
        if wm is None or at > wm:
            self._wm[partition] = at
            horizon = at - timedelta(days=self.horizon_days)
            if self._maybe and (wm is None or at.toordinal() // 30 != wm.toordinal() // 30):
                self._maybe = {w: d for w, d in self._maybe.items() if d[1] >= horizon}
