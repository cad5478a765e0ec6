"""What a dyad's retractions and corrections took out of its log, and the acts they wait for.

A retraction or correction names an act by id (``retracts``, ``corrects``). If the act is
retained, it leaves the log at once; if not, the record leaves a **tombstone** that the
act meets when it comes (it is then skipped). Either way the act's id is remembered, with
the record's date, for as long as an act it may name can still be placed: a record may be
dated up to the allowed lateness from its act (``schemas.events.check_replaces``), and
the act can be placed while it is at or after the dyad's base, so a tombstone is kept
until the base is more than the lateness past its date.

A tombstone the act never meets in that time **retracted nothing**: its act is of another
pair, does not exist, or was settled before the record came (a record dated after its act
that came more than the lateness after it). The worker cannot tell these apart from an
act still to come when the record arrives — it folds one pair at a time and keeps no
settled act's id — but it can when the tombstone expires: the record is then **set aside**
with the reason (the worker sends it to the dead-letter topic, the offline fold lists it
as refused). An entry that sees the act and the record together refuses such a record
before it is published (``check_replaces``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from folds.change import SetAside
from schemas.codec import decode_event, encode_event
from schemas.events import DiplomaticEvent

__all__ = ["Tombstones"]


class Tombstones:
    """The ids taken out of one dyad's log (see the module docstring)."""

    __slots__ = ("dates", "waiting")

    def __init__(self) -> None:
        #: Ids retracted or corrected (and the retractions' own ids), with the date of the
        #: record that named them.
        self.dates: dict[str, datetime] = {}
        #: The acts not retained when a record named them: act id -> (the record, its
        #: source offset if known).
        self.waiting: dict[str, tuple[DiplomaticEvent, int | None]] = {}

    def __contains__(self, event_id: str) -> bool:
        return event_id in self.dates

    def __bool__(self) -> bool:
        return bool(self.dates)

    def copy(self) -> Tombstones:
        copy = Tombstones()
        copy.dates, copy.waiting = dict(self.dates), dict(self.waiting)
        return copy

    def mark(
        self,
        event_id: str,
        at: datetime,
        waiting_for: tuple[DiplomaticEvent, int | None] | None = None,
    ) -> None:
        """Remember ``event_id`` as taken out at ``at``; ``waiting_for``: the record that
        named it, if the act was not retained (the tombstone waits for it)."""
        self.dates[event_id] = at
        if waiting_for is not None:
            self.waiting[event_id] = waiting_for

    def meet(self, act_id: str) -> bool:
        """The act ``act_id`` has come: whether a tombstone was waiting for it."""
        return self.waiting.pop(act_id, None) is not None

    def sweep(self, base_at: datetime, lateness: timedelta, dyad: str) -> list[SetAside]:
        """Forget the ids no act can be placed against any more (the base is more than
        the lateness past their date); return the records whose act never came."""
        kept = base_at - lateness
        gone = [i for i, t in self.dates.items() if t < kept]
        unmet: list[SetAside] = []
        for event_id in gone:
            del self.dates[event_id]
            waited = self.waiting.pop(event_id, None)
            if waited is not None:
                record, offset = waited
                unmet.append((record, offset, _unmet(record, event_id, dyad, lateness)))
        return unmet

    def dump(self) -> dict[str, Any]:
        return {
            "retracted": dict(sorted((i, t.isoformat()) for i, t in self.dates.items())),
            "waiting": {
                i: {"record": encode_event(r).decode(), "offset": o}
                for i, (r, o) in sorted(self.waiting.items())
            },
        }

    @classmethod
    def load(cls, data: dict[str, Any]) -> Tombstones:
        """From :meth:`dump`'s keys of a value (one written before the waiting acts were
        kept has none: nothing waits)."""
        tombs = cls()
        tombs.dates = {i: datetime.fromisoformat(t) for i, t in data["retracted"].items()}
        for act_id, waited in (data.get("waiting") or {}).items():
            tombs.waiting[act_id] = (decode_event(waited["record"]), waited["offset"])
        return tombs


def _unmet(record: DiplomaticEvent, act_id: str, dyad: str, lateness: timedelta) -> str:
    field, did = ("retracts", "retracted") if record.retracts else ("corrects", "corrected")
    days = f"{lateness.total_seconds() / 86_400:g}"
    beside = "" if record.retracts else ", and this correction's act is counted beside it"
    return (
        f"{field} {act_id!r}, which {dyad} did not hold when this came and which has not "
        f"come within the allowed lateness ({days} days) of {record.occurred_at.date()}: "
        f"nothing was {did}. If {act_id!r} is of another pair, or was settled before "
        f"this came (dated more than the lateness before {dyad}'s latest event), it "
        f"stands, alerts and all{beside}; retract it in its own pair, dated as it, "
        "while it is within the lateness"
    )
