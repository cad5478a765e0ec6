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
refused so; what the chart did for those is kept, by source offset, until its refusal
comes or a refusal of a later record of the same partition does (the worker refuses a
partition's records in their order), at most ``MAYBE_KEPT`` a partition. The chart
therefore ends as the worker's log, in any order of reading the two topics
(tests/unit/test_chart.py).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Final

from folds.guard import Guarded, TooLate, Undo
from folds.history import ConflictHistory, HistoryState
from infra.topics import KIND_HEADER, SOURCE_HEADER
from query.acts import ActIndex
from schemas.codec import decode_event
from schemas.errors import InvalidRecord
from schemas.events import check_log_time
from schemas.ticks import TICK_KEY, parse_tick

__all__ = ["MAYBE_KEPT", "NOT_FOLDED", "Chart", "chart_horizon"]

#: The dead letters' kinds of records the worker did not fold though the chart could
#: read them (``unmatched`` ones were folded; invalid ones the chart skips too).
NOT_FOLDED: Final = frozenset({"too_late", "crowded", "fold_failed"})

#: The most records a partition may hold that the worker could still refuse (the oldest
#: forgotten first: its refusal, if it comes, then finds nothing to take back).
MAYBE_KEPT: Final = 100_000

Where = tuple[int, int]  #: (partition, offset) of an events-topic record


def chart_horizon(lateness_days: float) -> int:
    """The days of event time the chart's guard keeps ids for: what keeps the chart equal
    to the worker's fold — twice the lateness (a retraction may be dated that far from its
    act, and the act come the lateness after it) and a week (the worker's base moves a
    week at a time). Older copies the worker refuses, and its refusal reaches the chart;
    the acts ``POST /events`` checks against are kept longer, compactly (query/acts.py)."""
    return math.ceil(2 * lateness_days) + 8


class Chart:
    """Each pair's :class:`HistoryState` behind its dedup guard (see the module docstring)."""

    def __init__(
        self, history: ConflictHistory, acts_days: int, lateness_days: float, events: str
    ) -> None:
        self.history = history
        self.histories: dict[str, Guarded[HistoryState]] = {}
        self.horizon_days = chart_horizon(lateness_days)
        #: The pair and day of each act read, for ``acts_days`` behind its pair's latest
        #: (``DIPWATCH_DEDUP_HORIZON_DAYS``).
        self.acts = ActIndex(acts_days)
        self.lateness = timedelta(days=lateness_days)
        self.events = events
        #: Each partition's watermark as the worker's engine moves it: events and ticks.
        self._wm: dict[int, datetime] = {}
        #: The next offset to read of each partition.
        self._next: dict[int, int] = {}
        #: What the chart did for each record the worker may refuse, by partition and
        #: offset (in offset order): (pair, undo).
        self._maybe: dict[int, dict[int, tuple[str, list[Undo]]]] = {}
        #: Records the worker refused, not read yet: skipped when they come.
        self._refused: set[Where] = set()
        #: Acts a retraction still in ``_maybe`` took back: act digest -> its offset.
        self._taken: dict[str, Where] = {}
        #: Of those, the acts the worker refused too: its refusal must not put them back.
        self._gone: set[str] = set()

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
            done = guard.apply(self.history, event, undo)
        except TooLate:
            return
        finally:
            self._advance(partition, at)
        self.histories[dyad] = guard
        if done is not None and event.retracts is None:  # an act, not a redelivery
            self.acts.add(event.event_id, dyad, at)
        if undo:
            assert offset is not None
            kept = self._maybe.setdefault(partition, {})
            kept[offset] = (dyad, undo)
            self._taken.update((d, (partition, offset)) for d, _, units in undo if units > 0)
            if len(kept) > MAYBE_KEPT:
                self._settled(partition, next(iter(kept)))

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
        maybe = self._maybe.get(where[0], {})
        while maybe and (first := next(iter(maybe))) < where[1]:
            self._settled(where[0], first)  # read before it, not refused: the worker kept it
        did = maybe.pop(where[1], None)
        if did is not None:
            self._undo(where, *did)
        elif where[1] >= self._next.get(where[0], 0):
            self._refused.add(where)  # not read yet: skipped when it comes

    def _undo(self, where: Where, dyad: str, changes: list[Undo]) -> None:
        """Revert what the chart did for the record at ``where``, which the worker refused
        (its id stays seen: a copy of it comes later still, and is refused too)."""
        guard, history = self.histories[dyad], self.history
        for digest, day, units in reversed(changes):
            if units < 0:  # its own term, unless a retraction took it back since
                if digest in self._taken:
                    self._gone.add(digest)
                else:
                    guard.terms.pop(digest, None)
                    guard.state = history.take_back(guard.state, day, -units)
            elif units > 0:  # an act it took back: put back, unless refused as well
                self._taken.pop(digest, None)
                if digest in self._gone:
                    self._gone.discard(digest)
                else:
                    guard.terms[digest] = units
                    guard.state = history.with_term(guard.state, (day // 7, units))
            else:  # an act it named before the act came: forgotten
                guard.seen.pop(digest, None)

    def _settled(self, partition: int, offset: int) -> None:
        """The record at (``partition``, ``offset``) was not refused: forget what it did."""
        _, changes = self._maybe[partition].pop(offset)
        for digest, _, units in changes:
            if units > 0 and self._taken.get(digest) == (partition, offset):
                del self._taken[digest]
                self._gone.discard(digest)

    def _advance(self, partition: int, at: datetime) -> None:
        wm = self._wm.get(partition)
        if wm is None or at > wm:
            self._wm[partition] = at
