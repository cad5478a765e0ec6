"""What every fold shares: the fold protocol and dedup by event id.

A fold is pure: ``apply(state, event) -> (state, alerts)``, no clock, no I/O, no Faust.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any, Generic, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict

from schemas.alerts import Alert, Severity, alert_id
from schemas.events import DiplomaticEvent

__all__ = [
    "Fold",
    "Guarded",
    "StateModel",
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


class Guarded(BaseModel, Generic[S]):
    """A fold's state together with the digests of the events it already holds.

    Dedup lives in the same table value as the state it guards, so a changelog
    replay restores both at once and a redelivered event can never count twice.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    seen: frozenset[str]
    state: S

    def dump(self) -> dict[str, Any]:
        """Return the table value (JSON-able, seen ids sorted for stable bytes)."""
        return {"seen": sorted(self.seen), "state": self.state.model_dump(mode="json")}


def guarded_apply(
    fold: Fold[S], key: str, value: dict[str, Any] | None, event: DiplomaticEvent
) -> tuple[dict[str, Any] | None, list[Alert]]:
    """Apply ``event`` unless already seen; return (new table value or None, alerts)."""
    if value is None:
        guarded: Guarded[S] = Guarded(seen=frozenset(), state=fold.initial(key))
    else:
        guarded = Guarded(
            seen=frozenset(value["seen"]), state=fold.state_type.model_validate(value["state"])
        )
    digest = event_digest(event.event_id)
    if digest in guarded.seen:
        return None, []
    state, alerts = fold.apply(guarded.state, event)
    return Guarded(seen=guarded.seen | {digest}, state=state).dump(), alerts


def fold_all(
    fold: Fold[S], key: str, events: Iterable[DiplomaticEvent]
) -> tuple[dict[str, Any] | None, list[Alert]]:
    """Fold events of one key in the given order, with dedup; for tests and references."""
    value: dict[str, Any] | None = None
    raised: list[Alert] = []
    for event in events:
        new, alerts = guarded_apply(fold, key, value, event)
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
