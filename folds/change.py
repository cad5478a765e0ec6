"""What a record or an advance of the watermark did to a dyad, and why a record is refused."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from schemas.alerts import Alert
from schemas.errors import InvalidRecord
from schemas.events import DiplomaticEvent

__all__ = ["Change", "Crowded", "FoldFailed", "SetAside", "TooLate"]

#: A record folded earlier that did not do what it says, to report: (what names it — its
#: id, pair, what it does, its date —, its source offset if known, why). E.g. a retraction
#: whose act never came (folds/tombstones.py).
SetAside = tuple[dict[str, Any], "int | None", str]


class TooLate(InvalidRecord):
    """An event (or retraction) past the allowed lateness behind its dyad's watermark: its
    place is settled (or may be at any moment), so it is not applied."""

    @classmethod
    def of(cls, event: DiplomaticEvent, dyad: str, wm: datetime, lateness: timedelta) -> TooLate:
        what = "retraction" if event.retracts else "event"
        return cls(
            f"{what} {event.event_id!r} of {event.occurred_at.date()} is past the allowed "
            f"lateness: more than {lateness.total_seconds() / 86_400:g} days behind "
            f"{dyad}'s watermark ({wm.date()}), where its place is settled; "
            "it is not applied (raise DIPWATCH_ALLOWED_LATENESS_DAYS, or fold offline)"
        )


class Crowded(InvalidRecord):
    """A retraction or correction that would take a dyad's tombstones past what its value
    may hold (folds/tombstones.py): refused, so that no write-back can outgrow the
    changelog's record limit and stop the worker."""


class FoldFailed(InvalidRecord):
    """A fold raised on an event: the record is dead-lettered with this reason, and no
    fold's state moves (the worker goes on with the next record)."""


@dataclass(slots=True)
class Change:
    """What one record or one advance of the watermark did to a dyad."""

    raised: list[Alert] = field(default_factory=list)
    #: Withdrawal alerts, each naming an alert that no longer holds (sent before ``raised``).
    withdrawn: list[Alert] = field(default_factory=list)
    duplicate: str = ""  #: why the record changed nothing ("" if it did)
    moved: bool = False  #: whether the value must be written back
    #: Records folded earlier, found now to have done nothing (dead-lettered as folded).
    set_aside: list[SetAside] = field(default_factory=list)

    @property
    def alerts(self) -> list[Alert]:
        """The withdrawals, then the alerts raised (to read, not to change)."""
        return [*self.withdrawn, *self.raised] if self.withdrawn else self.raised
