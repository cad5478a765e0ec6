"""What a dyad's retractions and corrections took out of its log, and the acts they wait for.

A retraction or correction names an act by id (``retracts``, ``corrects``). If the act is
retained, it leaves the log at once; if not, the record leaves a **tombstone** that the
act meets when it comes (it is then skipped). Either way the act's id is remembered, with
the record's date, for as long as an act it may name can still be placed: a record may be
dated up to the allowed lateness from its act (``schemas.events.check_replaces``), and
the act can be placed while it is at or after the dyad's base, so a tombstone is kept
until the base is more than the lateness past its date.

The acts that **settled** into the base are remembered too, by id, for as long as a
placeable record may name them (an act dated up to the lateness before the
base): a retraction or correction that names one comes too late to take it back, and is
refused as such (:class:`~folds.change.TooLate`) — a correction that went ahead would count
its new act beside the settled one. At most :data:`SETTLED_BYTES` of ids a pair, the
oldest days forgotten first.

A tombstone the act never meets in that time **retracted nothing**: its act is of another
pair, does not exist, or settled before the pair's settled acts were remembered (the
busiest pairs, past :data:`SETTLED_BYTES`, or a value written before they were). The
worker cannot tell these apart from an act still to come when the record arrives — it
folds one pair at a time — but it can when the tombstone expires: the record is then
**set aside** with the reason (the worker sends it to the dead-letter topic, the offline
fold lists it as refused). An entry that sees the act and the record together refuses
such a record before it is published (``check_replaces``).

A waiting tombstone keeps, in the dyad's value, what names the record — its id, what it
does, its date, its offset on the events topic (kept for ever) — not the record: a value
must not grow with what a pair is sent (a correction may be 256 KiB). What is set aside
is that reference, and the dead letter's source header says where the record is.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import date, datetime, timedelta
from typing import Any, Final

import orjson

from folds.change import Crowded, SetAside, TooLate
from schemas.events import DiplomaticEvent

__all__ = ["SETTLED_BYTES", "TOMBSTONE_BYTES", "Tombstones", "reference"]

#: The most JSON a dyad's tombstones may take in its value (beside the value's 32 KiB of
#: events not yet stored apart, its settled acts' ids and its states: all well under
#: Apache Kafka's 1 MiB record limit): of one pair within twice the lateness, some 3,500
#: retractions that found their act, or 1,400 whose act has not come (ids of 40
#: characters). One more is refused (:class:`~folds.change.Crowded`) rather than a
#: write-back that would fail.
TOMBSTONE_BYTES: Final = 512 * 1024
#: A remembered id's JSON beyond the id: quotes, colon, an ISO date, a comma.
_DATE_BYTES: Final = 34
#: The most JSON the ids of a pair's remembered settled acts may take in its value: some
#: 4,500 GDELT acts (ids of 26 characters), 150 a day over a lateness of 30 days.
SETTLED_BYTES: Final = 128 * 1024


def reference(record: DiplomaticEvent, dyad: str) -> dict[str, Any]:
    """What names a retraction or correction: its id, pair, the act it names, its date."""
    field = "retracts" if record.retracts else "corrects"
    return {
        "event_id": record.event_id,
        "dyad": dyad,
        field: record.retracts or record.corrects,
        "occurred_at": record.occurred_at.isoformat(),
    }


class Tombstones:
    """The ids taken out of one dyad's log (see the module docstring)."""

    __slots__ = ("_dumped", "dates", "settled", "settled_size", "size", "waiting")

    def __init__(self) -> None:
        #: Ids retracted or corrected (and the retractions' own ids), with the date of the
        #: record that named them.
        self.dates: dict[str, datetime] = {}
        #: The acts not retained when a record named them: act id -> (the record's
        #: :func:`reference`, its source offset if known).
        self.waiting: dict[str, tuple[dict[str, Any], int | None]] = {}
        #: About the JSON bytes of both, in the value (kept as they change).
        self.size = 0
        #: The ids of the acts settled into the base, by the day they are dated; and about
        #: their JSON bytes in the value.
        self.settled: dict[date, set[str]] = {}
        self.settled_size = 0
        #: Each settled day's JSON as last dumped (a day's set only grows: its size says
        #: whether it changed), so that a write-back sorts only the days that did.
        self._dumped: dict[date, tuple[str, list[str]]] = {}

    def __contains__(self, event_id: str) -> bool:
        return event_id in self.dates

    def __bool__(self) -> bool:
        return bool(self.dates or self.settled)

    def copy(self) -> Tombstones:
        """A copy to restore if a record fails (the settled days' sets are shared: only
        :meth:`settle` changes them, after a record's folds have run)."""
        copy = Tombstones()
        copy.dates, copy.waiting, copy.size = dict(self.dates), dict(self.waiting), self.size
        copy.settled, copy.settled_size = dict(self.settled), self.settled_size
        copy._dumped = dict(self._dumped)
        return copy

    def taken(self, record: DiplomaticEvent, act_id: str, dyad: str, held: Collection[str]) -> str:
        """Why ``record``, a retraction or correction of ``act_id``, changes nothing: its
        act was taken out already ("" if not, or if ``held`` holds it). Raises
        :class:`~folds.change.TooLate` if the act has settled into the base."""
        if act_id in held:
            return ""
        if act_id in self.dates:
            return f"event {act_id!r} already retracted or corrected"
        for day, ids in self.settled.items():
            if act_id in ids:
                raise _settled(record, act_id, day, dyad)
        return ""

    def settle(self, acts: Iterable[DiplomaticEvent]) -> None:
        """Remember ``acts``, settled into the base (the oldest days forgotten past
        :data:`SETTLED_BYTES`)."""
        settled, size = self.settled, self.settled_size
        for act in acts:
            day = act.occurred_at.date()
            ids = settled.get(day)
            if ids is None:
                ids = settled[day] = set()
            ids.add(act.event_id)
            size += len(act.event_id) + 3
        while size > SETTLED_BYTES:  # (the days come in order: an act settles after those
            size -= _size(settled.pop(next(iter(settled))))  # dated before it)
        self.settled_size = size

    def mark(
        self,
        event_id: str,
        at: datetime,
        waiting: DiplomaticEvent | None = None,
        dyad: str = "",
        offset: int | None = None,
    ) -> None:
        """Remember ``event_id`` as taken out at ``at``; ``waiting``: the record of pair
        ``dyad`` (at ``offset``) that named it, if the act was not retained (the tombstone
        waits for it). Raises :class:`~folds.change.Crowded` if that would take the
        tombstones past :data:`TOMBSTONE_BYTES` (then nothing has changed)."""
        ref = None if waiting is None else reference(waiting, dyad)
        grows = (0 if event_id in self.dates else len(event_id) + _DATE_BYTES) + _bytes(ref)
        if self.size + grows > TOMBSTONE_BYTES:
            raise Crowded(
                f"{dyad} holds {len(self.dates)} retracted or corrected ids within twice the "
                f"allowed lateness, {self.size} bytes of its value: one more would pass "
                f"the {TOMBSTONE_BYTES} its value may hold, so this record is not applied "
                "(spread the retractions over time, or fold offline)"
            )
        self.dates[event_id] = at
        self.size += grows
        if ref is not None:
            self.waiting[event_id] = (ref, offset)

    def meet(self, act_id: str) -> bool:
        """The act ``act_id`` has come: whether a tombstone was waiting for it."""
        waited = self.waiting.pop(act_id, None)
        if waited is None:
            return False
        self.size -= _bytes(waited[0])
        return True

    def sweep(self, base_at: datetime, lateness: timedelta, dyad: str) -> list[SetAside]:
        """Forget the ids no act can be placed against any more (the base is more than
        the lateness past their date); return the records whose act never came."""
        kept = base_at - lateness
        settled, first = self.settled, kept.date()
        while settled and (day := next(iter(settled))) < first:  # (in order, as they came)
            self.settled_size -= _size(settled.pop(day))  # no record can name them any more
        unmet: list[SetAside] = []
        if not self.dates:
            return unmet
        gone = [i for i, t in self.dates.items() if t < kept]
        for event_id in gone:
            del self.dates[event_id]
            self.size -= len(event_id) + _DATE_BYTES
            waited = self.waiting.pop(event_id, None)
            if waited is not None:  # the act never came
                ref, offset = waited
                self.size -= _bytes(ref)
                unmet.append((ref, offset, _unmet(ref, event_id, dyad, lateness)))
        return unmet

    def dump(self) -> dict[str, Any]:
        return {
            "retracted": dict(sorted((i, t.isoformat()) for i, t in self.dates.items())),
            "waiting": {i: {**r, "offset": o} for i, (r, o) in sorted(self.waiting.items())},
            "settled": dict(self._settled_json()),
        }

    def _settled_json(self) -> list[tuple[str, list[str]]]:
        """Each settled day's (ISO date, sorted ids), made again only for days that grew."""
        dumped: dict[date, tuple[str, list[str]]] = {}
        for day in sorted(self.settled):
            ids, was = self.settled[day], self._dumped.get(day)
            if was is None or len(was[1]) != len(ids):
                was = (day.isoformat(), sorted(ids))
            dumped[day] = was
        self._dumped = dumped
        return list(dumped.values())

    @classmethod
    def load(cls, data: dict[str, Any]) -> Tombstones:
        """From :meth:`dump`'s keys of a value (one written before the waiting acts or
        the settled ones were kept has none: nothing waits, none is remembered)."""
        tombs = cls()
        for day, ids in (data.get("settled") or {}).items():
            tombs.settled[date.fromisoformat(day)] = set(ids)  # (sorted by day)
        tombs.settled_size = sum(map(_size, tombs.settled.values()))
        tombs.dates = {i: datetime.fromisoformat(t) for i, t in data["retracted"].items()}
        for act_id, waited in (data.get("waiting") or {}).items():
            ref = dict(waited)
            tombs.waiting[act_id] = (ref, ref.pop("offset"))
        tombs.size = sum(len(i) + _DATE_BYTES for i in tombs.dates)
        tombs.size += sum(_bytes(ref) for ref, _ in tombs.waiting.values())
        return tombs


def _bytes(ref: dict[str, Any] | None) -> int:
    """A waiting record's JSON in the value: its reference, keyed by the act's id, with
    its offset."""
    if ref is None:
        return 0
    return len(orjson.dumps(ref)) + len(ref.get("retracts") or ref["corrects"]) + 20


def _size(ids: set[str]) -> int:
    """The JSON bytes of a day's settled ids in the value (quotes and a comma each)."""
    return sum(map(len, ids)) + 3 * len(ids)


def _settled(record: DiplomaticEvent, act_id: str, day: date, dyad: str) -> TooLate:
    field, kind = ("retracts", "retraction") if record.retracts else ("corrects", "correction")
    beside = "" if record.retracts else " (its new act would be counted beside the old one)"
    return TooLate(
        f"{kind} {record.event_id!r} of {record.occurred_at.date()} {field} {act_id!r}, "
        f"an act of {dyad} of {day} that has settled: it came more than the allowed "
        f"lateness after its act, which stands as first recorded, alerts and all; it "
        f"is not applied{beside}. Take an act back while it is within the lateness "
        "(to review older acts, raise DIPWATCH_ALLOWED_LATENESS_DAYS, or fold offline)"
    )


def _unmet(ref: dict[str, Any], act_id: str, dyad: str, lateness: timedelta) -> str:
    retracts = "retracts" in ref
    field, did = ("retracts", "retracted") if retracts else ("corrects", "corrected")
    days = f"{lateness.total_seconds() / 86_400:g}"
    beside = "" if retracts else ", and this correction's act is counted beside it"
    return (
        f"{ref['event_id']!r} {field} {act_id!r}, which {dyad} did not hold when it came "
        f"and which has not come within the allowed lateness ({days} days) of "
        f"{ref['occurred_at'][:10]}: "
        f"nothing was {did}. If {act_id!r} is of another pair, or was settled before "
        f"it came (dated more than the lateness before {dyad}'s latest event, among "
        f"more settled acts than its value remembers), it stands, alerts and all{beside}; "
        "retract it in its own pair, dated as it, while it is within the lateness"
    )
