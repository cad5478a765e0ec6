"""The engine of one stream of records: dyad logs, the watermark and its timers.

A worker holds one :class:`Engine` per partition it owns; the offline fold runs the whole
log as one. Both call it the same way: :meth:`Engine.tick` to a record's event time (the
timers due by then fire, in every dyad), then :meth:`Engine.add`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from folds.base import Fold
from folds.change import SetAside
from folds.clock import Timers
from folds.dyadlog import Change, DyadLog
from schemas.alerts import Alert
from schemas.events import DiplomaticEvent

__all__ = ["Engine", "Fired"]

#: What a tick or the closing advance did to one dyad: (0 for a timer or 1 for the
#: closing advance, the time it fired at, the dyad, the alerts it raised).
Fired = tuple[int, datetime, str, list[Alert]]


class Engine:
    """Dyad logs and the timers of one stream of records: what a worker does for one
    partition, without Faust (the offline fold runs every dyad as one partition)."""

    def __init__(
        self, folds: Sequence[Fold[Any]], lateness_days: float, partition: int = 0
    ) -> None:
        self.folds = folds
        self.partition = partition
        self.lateness = timedelta(days=lateness_days)
        self.logs: dict[str, DyadLog] = {}
        self.timers = Timers()
        #: Dyads whose value moved since :meth:`written` was last called.
        self.dirty: set[str] = set()
        #: Records found to have done nothing since :meth:`set_aside` was last called.
        self.found: list[SetAside] = []

    def tick(self, at: datetime, fired: list[Fired] | None = None) -> list[Alert]:
        """Move the watermark to ``at``: fire the timers due by then, earliest first across
        the dyads (by due time, then dyad), so the alerts come in event-time order. Each
        firing is also listed in ``fired``, if given, as ``(0, due, dyad, alerts)``."""
        self.timers.advance(at)
        raised: list[Alert] = []
        while (due := self.timers.pop_due()) is not None:
            alerts = self._after(due[1], self.logs[due[1]].advance(due[0]))
            if fired is not None:
                fired.append((0, due[0], due[1], alerts))
            raised.extend(alerts)
        return raised

    def add(self, event: DiplomaticEvent, offset: int | None = None) -> Change:
        """Fold ``event`` (raises InvalidRecord); :meth:`tick` to its time first, so the
        timers due before it fire before it, in every dyad."""
        dyad = event.dyad
        log = self.logs.get(dyad) or DyadLog(self.folds, dyad, self.lateness, self.partition)
        change = log.add(event, offset)
        self.logs[dyad] = log
        self._after(dyad, change)
        return change

    def settle_all(
        self, at: datetime | None = None, fired: list[Fired] | None = None
    ) -> list[Alert]:
        """Advance every dyad to ``at`` (default: the watermark): a tick to all, then each
        dyad in order (listed in ``fired``, if given, as ``(1, at, dyad, alerts)``)."""
        end = at or self.timers.watermark
        if end is None:
            return []
        raised = self.tick(end, fired)
        for dyad in sorted(self.logs):
            alerts = self._after(dyad, self.logs[dyad].advance(end))
            if fired is not None:
                fired.append((1, end, dyad, alerts))
            raised.extend(alerts)
        return raised

    def restore(self, log: DyadLog) -> None:
        """Hold a dyad's log restored from storage (and schedule its timers)."""
        self.logs[log.dyad] = log
        self.timers.schedule(log.dyad, log.next_due())

    def written(self) -> list[str]:
        """Return (and forget) the dyads whose value moved: each to write once."""
        dirty, self.dirty = sorted(self.dirty), set()
        return dirty

    def set_aside(self) -> list[SetAside]:
        """Return (and forget) the records folded earlier that were found to have done
        nothing (a retraction or correction whose act never came: folds/tombstones.py),
        to dead-letter as folded."""
        found, self.found = self.found, []
        return found

    def _after(self, dyad: str, change: Change) -> list[Alert]:
        self.timers.schedule(dyad, self.logs[dyad].next_due())
        if change.moved:
            self.dirty.add(dyad)
        if change.set_aside:
            self.found.extend(change.set_aside)
        return change.alerts
