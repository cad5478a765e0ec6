"""One dyad in event time: its settled base, the events within the allowed lateness, and
the alerts standing for them.

The state of a dyad is the fold of its events **sorted in event time**, with every timer
(a level decaying through its band, a summons lapsing) fired at its due time, before any
event at or after it. Whatever the arrival order, :class:`DyadLog` keeps that promise:

- an event at or after everything folded so far is applied at once (the common case);
- an event that arrives late, a retraction or a correction is put in its place among the
  retained events and the dyad is re-folded from its base; the alerts whose truth changed
  are *withdrawn* (an alert naming the one it withdraws) and the new ones raised, so the
  standing alerts equal those of the sorted log;
- events older than ``allowed lateness`` behind the watermark are settled into the base
  (at week-start checkpoints the fold passed, so no event is folded twice); an event
  or retraction dated before the base can no longer be placed: :class:`TooLate`.

Redeliveries are caught by the source offset (exact, O(1)); re-published copies by the
event ids retained. What retractions and corrections took out, the acts they wait for,
and the acts settled that they may still name are its tombstones (folds/tombstones.py);
the retained events are stored apart from the log's value, in chunks (folds/stored.py).
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from folds.base import Fold
from folds.change import Change, Crowded, FoldFailed, SetAside, TooLate
from folds.clock import NO_WEEK, settle_floor, week_of
from folds.dumps import Dumps
from folds.run import Run
from folds.stored import Stored, stored_events
from folds.tombstones import Tombstones
from schemas.alerts import Alert, withdrawal
from schemas.events import DiplomaticEvent

__all__ = ["Change", "DyadLog", "FoldFailed", "TooLate"]


def _alerts() -> list[Alert]:
    return []  # (``list[Alert]()`` is a call through typing's alias: slower)


def _key(event: DiplomaticEvent) -> tuple[datetime, str]:
    return event.occurred_at, event.event_id


class DyadLog:
    """A dyad's folds in event time (see the module docstring)."""

    def __init__(
        self, folds: Sequence[Fold[Any]], dyad: str, lateness: timedelta, partition: int = 0
    ) -> None:
        self.folds, self.dyad, self.lateness, self.partition = folds, dyad, lateness, partition
        self.offset = -1
        self.base: list[Any] = [f.initial(dyad) for f in folds]
        self._initial = tuple(self.base)
        self.base_at: datetime | None = None
        self.events: list[DiplomaticEvent] = []
        self._keys: list[tuple[datetime, str]] = []
        self.ids: set[str] = set()
        #: Ids retracted or corrected, and the acts their records wait for (tombstones.py).
        self.tombs = Tombstones()
        #: Records found to have done nothing (a tombstone expired unmet), to report.
        self._unmet: list[SetAside] = []
        #: The fold of everything retained, to the watermark (``head.at``).
        self._head = Run(folds, self.base, None)
        #: Day-start checkpoints the head passed, oldest first: what the base can move to.
        self._snaps: list[Run] = []
        #: Alerts of the retained period, by id (frozen models: equal iff same content).
        self.standing: dict[str, Alert] = {}
        #: Whether :attr:`standing` holds alerts a re-fold would not raise (restored from
        #: a value another version of the rules wrote): only then is it stored.
        self._inherited = False
        #: Where the retained events are stored (folds/stored.py): chunks apart from the value.
        self.stored = Stored(dyad)
        #: The JSON of the head and base states (and of inherited standing alerts), made once.
        self._dumps = Dumps()
        self._week = NO_WEEK  #: the checkpoint grid's week of the last event: [start, end)

    # -- reading --------------------------------------------------------------------

    @property
    def head(self) -> list[Any]:
        """Each fold's current state (all retained events, timers to the watermark)."""
        return self._head.states

    @property
    def wm(self) -> datetime | None:
        """The event time this dyad has been folded to (its watermark)."""
        return self._head.at

    def state(self, name: str) -> Any:
        """The current (head) state of fold ``name``."""
        return self.head[[f.name for f in self.folds].index(name)]

    @property
    def blank(self) -> bool:
        """Whether no fold has anything to say (e.g. its only event was retracted)."""
        # As the models' ``==`` decides for frozen states without private or extra
        # attributes, less its Python wrapper (a write asks this once; it was 2.3 µs).
        for s, i in zip(self.head, self._initial, strict=True):
            if s is not i and (type(s) is not type(i) or s.__dict__ != i.__dict__):
                return False
        return True

    def next_due(self) -> datetime | None:
        """When the next timer of any fold fires (None: no timer pending)."""
        first = None
        for due in self._head.dues:
            if due is not None and (first is None or due < first):
                first = due
        return first

    # -- records --------------------------------------------------------------------

    def add(self, event: DiplomaticEvent, offset: int | None = None) -> Change:
        """Fold ``event`` (an act, a retraction or a correction) in its event-time place.

        Raises :class:`TooLate` if it (or the act it takes back) is past the allowed
        lateness, :class:`FoldFailed` if a fold fails on it; then nothing has moved."""
        if offset is not None and offset <= self.offset:
            return Change(duplicate=f"offset {offset} already folded (a redelivery)")
        change = self._add(event, offset)
        if offset is not None:
            self.offset = offset
            change.moved = True
        return self._report(change) if self._unmet else change

    def _report(self, change: Change) -> Change:
        if self._unmet:  # records found to have done nothing (a sweep: the value moved)
            change.set_aside, self._unmet, change.moved = self._unmet, [], True
        return change

    def _add(self, event: DiplomaticEvent, offset: int | None) -> Change:
        if event.event_id in self.ids or event.event_id in self.tombs.dates:
            # An act its retraction or correction came before: the tombstone is met.
            met = self.tombs.meet(event.event_id)
            return Change(
                duplicate=f"event {event.event_id!r} already folded or retracted", moved=met
            )
        self._check_placeable(event)
        gone = event.retracts or event.corrects
        if gone is None and self._follows(event):
            return self._append(event)  # the common case: nothing to undo if it fails
        if gone is not None and (taken := self.tombs.taken(event, gone, self.dyad, self.ids)):
            return Change(duplicate=taken)  # (TooLate if its act has settled)
        saved = (list(self.events), list(self._keys), set(self.ids), self.tombs.copy())
        stored = self.stored.copy()
        try:
            return self._place(event, gone, offset)
        except (FoldFailed, Crowded):  # all or nothing: the log is as it was
            self.events, self._keys, self.ids, self.tombs = saved
            self.stored = stored
            raise

    def _place(self, event: DiplomaticEvent, gone: str | None, offset: int | None) -> Change:
        """Put a late event, a retraction or a correction in its place and re-fold."""
        removed = False
        if gone is not None:
            removed = self._remove(gone)
            self.tombs.mark(gone, event.occurred_at, None if removed else event, self.dyad, offset)
        if event.retracts is not None:
            # Not an act: its id is remembered (a redelivery changes nothing), no more.
            self.tombs.mark(event.event_id, event.occurred_at, None, self.dyad)
            return self._refold(self.wm) if removed else Change(moved=True)
        if not removed and self._follows(event):
            return self._append(event)
        self._insert(event)
        return self._refold(max(self.wm or event.occurred_at, event.occurred_at))

    def _follows(self, event: DiplomaticEvent) -> bool:
        """Whether ``event`` comes after everything folded (timers included)."""
        wm, at = self._head.at, event.occurred_at
        if wm is None:
            return True
        if at < wm:
            return False
        if not self._keys:
            return True
        last = self._keys[-1]
        return at > last[0] or (at == last[0] and event.event_id > last[1])

    def _check_placeable(self, event: DiplomaticEvent) -> None:
        """Refuse a record dated past the allowed lateness behind the watermark (on the
        day grid): its place is settled, or may be at any moment."""
        wm, at = self._head.at, event.occurred_at
        if wm is None:
            return
        if at >= wm - self.lateness and (self.base_at is None or at >= self.base_at):
            return  # within the lateness: at or after the floor, which lies below this
        floor = settle_floor(wm, self.lateness)
        if at < floor or (self.base_at and at < self.base_at):
            raise TooLate.of(event, self.dyad, wm, self.lateness)

    def _append(self, event: DiplomaticEvent) -> Change:
        """The fast path: the event follows everything folded."""
        head, at, alerts = self._head, event.occurred_at, _alerts()
        week = self._week
        if not week[0] <= at < week[1]:
            week = self._week = week_of(at, week)
        if head.at is not None and head.at >= week[0] and not head.due_by(at):
            # No checkpoint to take and no timer to fire: only the folds' states move,
            # all at once when every fold has applied (nothing to copy or undo).
            head.apply(self.folds, self.dyad, event, alerts)
            if at > head.at:
                head.at = at
        else:
            run = head.copy()
            self._snaps.extend(self._step(run, event, alerts))
            self._head = run
        self._insert(event)
        for alert in alerts:
            self.standing[alert.alert_id] = alert
        self._settle()
        return Change(raised=alerts, moved=True)

    def _insert(self, event: DiplomaticEvent) -> None:
        key = _key(event)
        if not self._keys or key > self._keys[-1]:  # the common case: at the end
            at = len(self._keys)
        else:
            at = bisect.bisect(self._keys, key)
        self._keys.insert(at, key)
        self.events.insert(at, event)
        self.ids.add(event.event_id)
        self.stored.added(event)

    def _remove(self, event_id: str) -> bool:
        if event_id not in self.ids:
            return False
        at = next(i for i, e in enumerate(self.events) if e.event_id == event_id)
        del self.events[at], self._keys[at]
        self.ids.discard(event_id)
        self.stored.dropped(event_id)
        return True

    # -- time -----------------------------------------------------------------------

    def advance(self, watermark: datetime) -> Change:
        """Fire the timers due by ``watermark`` and settle what falls behind the lateness."""
        if self.wm is not None and watermark < self.wm:
            return Change()
        run, alerts = self._head.copy(), _alerts()
        run.fire(self.folds, watermark, alerts, inclusive=True)
        moved = bool(alerts) or watermark != self.wm
        run.at = watermark
        self._head = run
        for alert in alerts:
            self.standing[alert.alert_id] = alert
        moved = self._settle() or moved
        return self._report(Change(raised=alerts, moved=moved))

    def _settle(self) -> bool:
        """Move the base to the latest week-start checkpoint a whole day or more behind
        the lateness: the events before it and their alerts are final. No event is folded
        twice: the checkpoint is the head's own state as it entered that day."""
        snaps, wm = self._snaps, self._head.at
        if wm is None or not snaps or snaps[0].at > wm - self.lateness:  # type: ignore[operator]
            return False  # checkpoints start days, so none is at or below the floor
        floor = settle_floor(wm, self.lateness)
        usable = 1  # the first is at or below the floor (both are day starts)
        while usable < len(snaps) and snaps[usable].at <= floor:  # type: ignore[operator]
            usable += 1
        snap = snaps[usable - 1]
        del snaps[:usable]
        at = snap.at
        assert at is not None
        self.base, self.base_at = list(snap.states), at
        keys = self._keys
        if keys and keys[0][0] < at:
            cut = bisect.bisect_left(keys, (at, ""))
            for event in self.events[:cut]:
                self.ids.discard(event.event_id)
                self.stored.dropped(event.event_id)
            self.tombs.settle(self.events[:cut])
            del self.events[:cut], keys[:cut]
        if self.tombs:
            self._unmet.extend(self.tombs.sweep(at, self.lateness, self.dyad))
        if self.standing:
            self.standing = {i: a for i, a in self.standing.items() if a.at >= at}
        return True

    def _refold(self, until: datetime | None) -> Change:
        """Re-fold the retained events from the base; withdraw and raise the difference."""
        run, snaps, alerts = Run(self.folds, self.base, self.base_at), [], _alerts()
        for event in self.events:
            snaps.extend(self._step(run, event, alerts))
        if until is not None:
            run.fire(self.folds, until, alerts, inclusive=True)
            run.at = max(run.at or until, until)
        self._head, self._snaps = run, snaps
        new = {a.alert_id: a for a in alerts}
        self._inherited = False  # the difference is withdrawn and raised below
        change = Change(moved=True)
        change.withdrawn = [
            withdrawal(old) for i, old in sorted(self.standing.items()) if new.get(i) != old
        ]
        change.raised = [a for a in alerts if self.standing.get(a.alert_id) != a]
        self.standing = new
        self._settle()
        return change

    # -- the folds ------------------------------------------------------------------

    def _step(self, run: Run, event: DiplomaticEvent, out: list[Alert]) -> list[Run]:
        """Fold ``event`` into ``run`` after the timers due by its time; return the
        checkpoint taken if the event enters a new week of event time."""
        self._week = week_of(event.occurred_at, self._week)
        day = self._week[0]
        snaps = []
        if run.at is None or run.at < day:
            run.fire(self.folds, day, out, inclusive=False)
            run.at = day
            snaps.append(run.copy())
        run.fire(self.folds, event.occurred_at, out, inclusive=True)
        run.apply(self.folds, self.dyad, event, out)
        run.at = max(run.at, event.occurred_at)
        return snaps

    # -- storage --------------------------------------------------------------------

    def head_json(self) -> dict[str, Any] | None:
        """Each fold's current state as JSON (what the read model serves); None for a
        dyad with nothing to say (e.g. whose only event was retracted)."""
        if self.blank:
            return None
        states = zip(self.folds, self.head, strict=True)
        return {f.name: self._dumps.of(s) for f, s in states}

    def dump(self) -> dict[str, Any]:
        """The table value: JSON for orjson (which Faust uses). Retained events are in
        the chunks it lists, but for those not yet written back (embedded, as fragments):
        a value dumped without :meth:`write_back` first still holds the whole log.

        The standing alerts are not stored (``null``): :meth:`load` folds them again
        (they were half of a latency-probe pair's value). Only alerts restored from a
        value that listed them, that this version's rules would not raise, are stored
        until a re-fold withdraws them."""
        standing = sorted(self.standing) if self._inherited else []
        if len(self._dumps) > 2 * (len(standing) + 2 * len(self.folds)):  # prune now and then
            self._dumps.keep([*self.head, *self.base, *(self.standing[i] for i in standing)])
        return {
            "dyad": self.dyad,
            "head": self.head_json(),
            "partition": self.partition,
            "offset": self.offset,
            "wm": self.wm and self.wm.isoformat(),
            "base_at": self.base_at and self.base_at.isoformat(),
            "base": {f.name: self._dumps.of(s) for f, s in zip(self.folds, self.base, strict=True)},
            "events": self.stored.pending_json()[0],
            "chunks": self.stored.chunks,
            "seq": self.stored.seq,
            **self.tombs.dump(),
            "standing": [self._dumps.of(self.standing[i]) for i in standing]
            if self._inherited
            else None,
        }

    def __json__(self) -> dict[str, Any]:
        return self.dump()

    @classmethod
    def load(
        cls,
        folds: Sequence[Fold[Any]],
        data: dict[str, Any],
        lateness: timedelta,
        chunks: Mapping[str, Any] | None = None,
    ) -> DyadLog:
        """Restore a dumped value and the chunks it lists (of ``chunks``, the table's
        values by key: one missing raises KeyError); the head is re-folded."""
        log = cls(folds, data["dyad"], lateness, data.get("partition", 0))
        log.offset = data["offset"]
        log.base = [f.state_type.model_validate(data["base"][f.name]) for f in folds]
        log.base_at = datetime.fromisoformat(data["base_at"]) if data["base_at"] else None
        log.tombs = Tombstones.load(data)
        in_chunks: dict[str, list[str]] = {}
        for key, event in stored_events(data, chunks or {}):
            in_chunks.setdefault(key, []).append(event.event_id)
            # Settled or retracted since the chunk was written: not retained.
            settled = log.base_at is not None and event.occurred_at < log.base_at
            gone = event.event_id in log.tombs or event.event_id in log.ids
            if not settled and not gone:
                log._insert(event)
        in_chunks.pop("", None)  # the events the value itself holds
        log.stored.restore(data.get("seq", 0), in_chunks, set(log.ids))
        log._refold(datetime.fromisoformat(data["wm"]) if data["wm"] else None)
        if data["standing"] is not None:  # written before session 19, or inherited
            # The re-fold takes a checkpoint at every week start an event enters, where
            # the live head may have crossed it by a timer instead: its base can settle
            # further. The alerts it settled are final, as they are in :meth:`_settle`.
            stored = (Alert.model_validate(a) for a in data["standing"])
            kept = {a.alert_id: a for a in stored if log.base_at is None or a.at >= log.base_at}
            log._inherited = kept != log.standing
            log.standing = kept
        return log
