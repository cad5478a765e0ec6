"""Event-time progress of one partition (or of a whole offline log) and its timers.

The watermark is the latest event time seen (events and tick records alike); it never
goes back. A dyad with a timer pending (see :meth:`folds.dyadlog.DyadLog.next_due`) is
scheduled here, so passing its due time costs a heap pop, not a scan of every dyad.
"""

from __future__ import annotations

import heapq
from datetime import datetime, timedelta
from typing import Final

from schemas.events import EPOCH

__all__ = ["NO_WEEK", "Timers", "grid_start", "settle_floor", "week_of"]

#: The checkpoint grid: a dyad's base moves a whole week at a time (EPOCH is a Monday).
_GRID: Final = timedelta(days=7)
#: The lateness is counted back from the watermark in whole days.
_DAY: Final = timedelta(days=1)


class Timers:
    """The watermark of one stream of records and the dyads whose timers it has to fire."""

    def __init__(self, watermark: datetime | None = None) -> None:
        self.watermark = watermark
        self._heap: list[tuple[datetime, str]] = []
        self._due: dict[str, datetime] = {}

    def schedule(self, dyad: str, due: datetime | None) -> None:
        """Record the next due time of ``dyad``'s timers (None: nothing pending)."""
        if due is None:
            self._due.pop(dyad, None)
        elif self._due.get(dyad) != due:
            self._due[dyad] = due
            heapq.heappush(self._heap, (due, dyad))

    def advance(self, to: datetime) -> None:
        """Move the watermark to ``to`` if that is later; it never goes back."""
        if self.watermark is None or to > self.watermark:
            self.watermark = to

    def pop_due(self) -> tuple[datetime, str] | None:
        """The earliest (due time, dyad) due by the watermark, or None; the dyad must be
        re-scheduled once its timer has fired."""
        while self._heap and self.watermark is not None and self._heap[0][0] <= self.watermark:
            due, dyad = heapq.heappop(self._heap)
            if self._due.get(dyad) == due:
                del self._due[dyad]
                return due, dyad
        return None


def settle_floor(watermark: datetime, lateness: timedelta) -> datetime:
    """The instant before which events are settled: ``watermark - lateness`` rounded down
    to a whole day of event time (the same for any path to the same watermark)."""
    return EPOCH + _DAY * ((watermark - lateness - EPOCH) // _DAY)


def grid_start(at: datetime) -> datetime:
    return EPOCH + _GRID * ((at - EPOCH) // _GRID)


#: A week of the grid, [start, end): none yet.
NO_WEEK: Final = (EPOCH, EPOCH)


def week_of(at: datetime, last: tuple[datetime, datetime]) -> tuple[datetime, datetime]:
    """The grid's week holding ``at``: ``last`` if it does (most events fall in the week
    of the one before), else computed."""
    if last[0] <= at < last[1]:
        return last
    start = grid_start(at)
    return start, start + _GRID
