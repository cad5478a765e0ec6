"""Dedup by event id within a horizon of event time: the guard of the read model's
chart history (the worker's folds dedup in their dyad logs, folds/dyadlog.py). It also
carries out retractions and corrections for the history: the act they name is taken
back if held, or skipped when it comes.

A fold's table value is its state together with the digests of the events it holds,
so a changelog replay restores both at once and a redelivered event never counts twice.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any, Final, Generic, TypeVar

from folds.base import Fold, StateModel
from folds.change import TooLate
from schemas.alerts import Alert
from schemas.events import EPOCH, DiplomaticEvent

__all__ = [
    "DEDUP_HORIZON_DAYS",
    "Guarded",
    "TooLate",
    "Undo",
    "event_digest",
]

S = TypeVar("S", bound=StateModel)

#: One change :meth:`Guarded.apply` made, to undo it: (digest, day, units). Units > 0 an
#: act's term taken back, < 0 the record's own term added, 0 a digest marked seen as
#: named by a retraction or correction.
Undo = tuple[str, int, int]


def event_digest(event_id: str) -> str:
    """Return a short, fixed-size digest of an event id for the dedup set."""
    return hashlib.blake2b(event_id.encode(), digest_size=8).hexdigest()


#: Default dedup horizon (days of event time behind a dyad's clock).
DEDUP_HORIZON_DAYS: Final = 730


def _day(at: datetime) -> int:
    """Whole days since the project's epoch."""
    return (at - EPOCH).days


#: How often (days of clock advance) the dedup set is swept of expired digests.
_SWEEP_EVERY_DAYS: Final = 30


class Guarded(Generic[S]):
    """A fold's state together with the digests of the events it already holds.

    Dedup lives in the same table value as the state it guards, so a changelog
    replay restores both at once and a redelivered event can never count twice.
    Digests are kept with their event day and forgotten once they fall more than the
    horizon behind the dyad's clock (its latest event day): the value's size follows the
    dyad's event rate, not its history. An event older than the horizon is refused.

    The table holds this object itself (Faust serialises it through ``__json__``), so
    an event costs O(1) in the hot path, not a re-validation of the whole value; the
    digest map is updated in place by its single writer, the dyad's agent.
    """

    __slots__ = ("clock", "horizon", "seen", "state", "swept", "terms")

    def __init__(self, seen: dict[str, int], clock: int | None, state: S, horizon: int) -> None:
        self.seen = seen
        self.clock = clock
        self.state = state
        self.horizon = horizon
        self.swept = clock
        #: The units each held act added (the fold's ``term``: its week is its day's, in
        #: ``seen``), by digest: what a retraction or correction of it takes back. Only
        #: for folds that say (``term``).
        self.terms: dict[str, int] = {}

    @classmethod
    def of(
        cls, fold: Fold[S], key: str, value: Guarded[S] | dict[str, Any] | None, horizon: int
    ) -> Guarded[S]:
        """Return the guard for a table value: as held, restored from JSON, or new."""
        if isinstance(value, Guarded):
            return value
        if value is None:
            return cls({}, None, fold.initial(key), horizon)
        guard = cls(
            dict(value["seen"]),
            value.get("clock"),
            fold.state_type.model_validate(value["state"]),
            horizon,
        )
        guard.terms = dict(value.get("terms", {}))
        return guard

    def dump(self) -> dict[str, Any]:
        """Return the table value as JSON-able data; only the digests within the horizon,
        so the value is equal whatever the order of arrival and sweeps (as a mapping: its
        key order follows arrival)."""
        floor = (self.clock or 0) - self.horizon
        return {
            "seen": {d: t for d, t in self.seen.items() if t >= floor},
            "clock": self.clock,
            "state": self.state.model_dump(mode="json"),
            "terms": {d: t for d, t in self.terms.items() if self.seen.get(d, floor - 1) >= floor},
        }

    def __json__(self) -> dict[str, Any]:
        return self.dump()

    def too_late(self, event: DiplomaticEvent) -> TooLate | None:
        """Return why ``event`` falls behind the dedup horizon, or None."""
        day = _day(event.occurred_at)
        if self.clock is None or day >= self.clock - self.horizon:
            return None
        if event_digest(event.event_id) in self.seen:
            return None  # a duplicate still remembered: apply() skips it
        return TooLate(
            f"event {event.event_id!r} of {event.occurred_at.date()} is more than "
            f"{self.horizon} days behind {event.dyad}'s latest event "
            f"({(EPOCH + timedelta(days=self.clock)).date()}); past the dedup horizon "
            "a redelivery cannot be told from a new event, so it is not applied"
        )

    def commit(self, event: DiplomaticEvent, state: S, digest: str | None = None) -> None:
        """Hold ``state``, the fold's result for ``event``, and remember the event (by
        ``digest``, its :func:`event_digest` if made already)."""
        self.state = state
        day = _day(event.occurred_at)
        self.seen[digest or event_digest(event.event_id)] = day
        self.clock = day if self.clock is None else max(self.clock, day)
        if self.swept is None or self.clock - self.swept >= _SWEEP_EVERY_DAYS:
            floor = self.clock - self.horizon
            self.seen = {d: t for d, t in self.seen.items() if t >= floor}
            # Each term's digest was in ``seen``: a term outlives it until there are more
            # terms than digests (a retraction dated so old is refused anyway).
            if len(self.terms) > len(self.seen):
                self.terms = {d: t for d, t in self.terms.items() if d in self.seen}
            self.swept = self.clock

    def apply(
        self, fold: Fold[S], event: DiplomaticEvent, undo: list[Undo] | None = None
    ) -> list[Alert] | None:
        """Fold ``event`` in unless seen (None); raise :class:`TooLate` past the horizon.
        A retraction or correction first takes its act back (:meth:`_take_back`). What
        changed goes to ``undo``, if given (``query.chart`` reverts it for a record the
        worker refused)."""
        late = self.too_late(event)
        if late is not None:
            raise late
        digest = event_digest(event.event_id)
        if digest in self.seen:  # a redelivery
            return None
        gone = event.retracts or event.corrects
        if gone is not None:
            self._take_back(fold, gone, event, undo)
        term = getattr(fold, "term", None)
        if term is None:
            state, alerts = fold.apply(self.state, event)
            self.commit(event, state, digest)
            return alerts
        # A fold that says what each act adds: kept, so that a retraction can take it back.
        added = term(event)
        self.commit(event, fold.with_term(self.state, added), digest)  # type: ignore[attr-defined]
        if added is not None:
            self.terms[digest] = added[1]
            if undo is not None:
                undo.append((digest, _day(event.occurred_at), -added[1]))
        return []

    def _take_back(
        self, fold: Fold[S], act_id: str, record: DiplomaticEvent, undo: list[Undo] | None
    ) -> None:
        """The act ``act_id``, retracted or corrected by ``record``: taken back if held,
        else remembered as seen so that it is skipped when it comes (either order gives
        the history without it). A record of another pair than its act finds nothing
        here (``schemas.events.check_replaces``)."""
        digest = event_digest(act_id)
        units, day = self.terms.pop(digest, None), self.seen.get(digest)
        if units is not None and day is not None:
            self.state = fold.take_back(self.state, day, units)  # type: ignore[attr-defined]
            if undo is not None:
                undo.append((digest, day, units))
        elif day is None:
            self.seen[digest] = _day(record.occurred_at)  # dated as the act it names
            if undo is not None:
                undo.append((digest, 0, 0))
