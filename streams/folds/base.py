"""What every fold shares: the fold protocol and dedup by event id.

A fold is pure: ``apply(state, event) -> (state, alerts)``, no clock, no I/O, no Faust.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Generic, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict

from schemas.alerts import Alert, Severity, alert_id
from schemas.errors import InvalidRecord
from schemas.events import DiplomaticEvent

__all__ = [
    "DEDUP_HORIZON_DAYS",
    "Fold",
    "Guarded",
    "StateModel",
    "TooLate",
    "check_horizon",
    "event_alert",
    "event_digest",
    "fold_all",
    "guarded_apply",
]

S = TypeVar("S", bound="StateModel")


class StateModel(BaseModel):
    """Base of fold states: frozen, JSON-able (they live in changelogged tables)."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Fold(Protocol, Generic[S]):
    """A pure aggregate: folds events of one key into a state and raises alerts."""

    name: str
    state_type: type[S]

    def initial(self, key: str) -> S:
        """Return the state of a key that has seen no event."""
        ...

    def apply(self, state: S, event: DiplomaticEvent) -> tuple[S, list[Alert]]:
        """Fold one event into the state; return the new state and the alerts raised."""
        ...


def event_digest(event_id: str) -> str:
    """Return a short, fixed-size digest of an event id for the dedup set."""
    return hashlib.blake2b(event_id.encode(), digest_size=8).hexdigest()


#: Default dedup horizon (days of event time behind a dyad's clock).
DEDUP_HORIZON_DAYS: Final = 730
_EPOCH_DAY: Final = datetime(1970, 1, 1, tzinfo=UTC)


def _day(at: datetime) -> int:
    return (at - _EPOCH_DAY).days


class TooLate(InvalidRecord):
    """An event older than the dedup horizon: a redelivery cannot be told from news."""


class Guarded(BaseModel, Generic[S]):
    """A fold's state together with the digests of the events it already holds.

    Dedup lives in the same table value as the state it guards, so a changelog
    replay restores both at once and a redelivered event can never count twice.
    Digests are kept with their event day and forgotten once they fall more than the
    horizon behind the dyad's clock (its latest event day): the value's size follows the
    dyad's event rate, not its history. An event older than the horizon is refused.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    seen: dict[str, int]
    clock: int | None = None
    state: S

    def dump(self) -> dict[str, Any]:
        """Return the table value (JSON-able, digests sorted for stable bytes)."""
        return {
            "seen": dict(sorted(self.seen.items())),
            "clock": self.clock,
            "state": self.state.model_dump(mode="json"),
        }


def check_horizon(value: dict[str, Any] | None, event: DiplomaticEvent, horizon_days: int) -> None:
    """Raise :class:`TooLate` if ``event`` falls behind the dedup horizon of ``value``."""
    clock = value.get("clock") if value else None
    day = _day(event.occurred_at)
    if clock is not None and day < clock - horizon_days:
        if event_digest(event.event_id) in value["seen"]:  # type: ignore[index]
            return  # a duplicate we still remember: guarded_apply skips it
        raise TooLate(
            f"event {event.event_id!r} of {event.occurred_at.date()} is more than "
            f"{horizon_days} days behind {event.dyad}'s latest event "
            f"({(_EPOCH_DAY + timedelta(days=clock)).date()}); past the dedup horizon a "
            "redelivery cannot be told from a new event, so it is not applied"
        )


def guarded_apply(
    fold: Fold[S],
    key: str,
    value: dict[str, Any] | None,
    event: DiplomaticEvent,
    horizon_days: int = DEDUP_HORIZON_DAYS,
) -> tuple[dict[str, Any] | None, list[Alert]]:
    """Apply ``event`` unless already seen; return (new table value or None, alerts).

    Raises :class:`TooLate` for an event older than the horizon (see ``check_horizon``).
    """
    check_horizon(value, event, horizon_days)
    if value is None:
        guarded: Guarded[S] = Guarded(seen={}, state=fold.initial(key))
    else:
        guarded = Guarded(
            seen=value["seen"],
            clock=value.get("clock"),
            state=fold.state_type.model_validate(value["state"]),
        )
    digest = event_digest(event.event_id)
    if digest in guarded.seen:
        return None, []
    state, alerts = fold.apply(guarded.state, event)
    day = _day(event.occurred_at)
    clock = max(day, guarded.clock) if guarded.clock is not None else day
    seen = {d: t for d, t in guarded.seen.items() if t >= clock - horizon_days}
    seen[digest] = day
    return Guarded(seen=seen, clock=clock, state=state).dump(), alerts


def fold_all(
    fold: Fold[S],
    key: str,
    events: Iterable[DiplomaticEvent],
    horizon_days: int = DEDUP_HORIZON_DAYS,
) -> tuple[dict[str, Any] | None, list[Alert]]:
    """Fold events of one key in the given order, with dedup; for tests and references."""
    value: dict[str, Any] | None = None
    raised: list[Alert] = []
    for event in events:
        new, alerts = guarded_apply(fold, key, value, event, horizon_days)
        if new is not None:
            value = new
        raised.extend(alerts)
    return value, raised


def event_alert(
    rule: str,
    severity: Severity,
    dyad: str,
    event: DiplomaticEvent,
    *,
    title: str,
    detail: str,
    figures: dict[str, float | int | str],
    evidence: tuple[str, ...] | None = None,
    key: str = "",
) -> Alert:
    """Return the alert ``rule`` that ``event`` raises on ``dyad`` (``key`` narrows the id),
    stamped in log time so that a replay raises the identical alert."""
    return Alert(
        alert_id=alert_id(rule, dyad + key, event.event_id),
        rule=rule,
        severity=severity,
        dyad=dyad,
        at=event.occurred_at,
        raised_at=event.recorded_at,
        title=title,
        detail=detail,
        figures=figures,
        evidence=evidence or (event.event_id,),
    )
