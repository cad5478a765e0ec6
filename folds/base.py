"""What every fold shares: the fold protocol, its state base and the alert helpers.

A fold is pure: ``apply(state, event) -> (state, alerts)`` for what an event does, and
``due(state)`` / ``advance(state, at)`` for what time does (a level decaying through its
band, a summons lapsing): no clock, no I/O, no Faust. The engine (folds/dyadlog.py) fires
every timer due at or before an event's time before it applies the event, so the state
and alerts are those of the log sorted in event time.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Generic, Protocol, Self, TypeVar

from pydantic import BaseModel, ConfigDict

from schemas.alerts import Alert, Severity, alert_id
from schemas.dating import Window
from schemas.events import DiplomaticEvent

__all__ = [
    "Fold",
    "NoTimers",
    "StateModel",
    "event_alert",
    "shifted",
    "timer_alert",
    "window_end",
]

S = TypeVar("S", bound="StateModel")
_set = object.__setattr__


class StateModel(BaseModel):
    """Base of fold states: frozen, JSON-able (they live in changelogged tables)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    def evolve(self, update: dict[str, Any]) -> Self:
        """A copy with ``update`` applied, as ``model_copy(update=...)`` makes it (no
        validation, the same fields set) at a fraction of its cost: folds make one or
        two per event. States are frozen and hold no private attributes or extras."""
        new = object.__new__(type(self))
        _set(new, "__dict__", {**self.__dict__, **update})
        _set(new, "__pydantic_fields_set__", self.__pydantic_fields_set__.union(update))
        _set(new, "__pydantic_extra__", None)
        _set(new, "__pydantic_private__", None)
        return new


class Fold(Protocol, Generic[S]):
    """A pure aggregate: folds events of one key into a state and raises alerts."""

    name: str
    state_type: type[S]

    def initial(self, key: str) -> S:
        """Return the state of a key that has seen no event."""
        ...

    def apply(self, state: S, event: DiplomaticEvent) -> tuple[S, list[Alert]]:
        """Fold one event into the state; return the new state and the alerts raised.
        Every timer due at or before the event's time has fired already."""
        ...

    def due(self, state: S) -> datetime | None:
        """Return when the next time-driven rule fires on ``state`` (None: never)."""
        ...

    def advance(self, state: S, at: datetime) -> tuple[S, list[Alert]]:
        """Fire the rule due at ``at`` (== ``due(state)``); the result must be due later
        or not at all, or have moved (the engine refuses a timer that fires in place)."""
        ...


class NoTimers:
    """For a fold with no time-driven rule: nothing is ever due."""

    def due(self, state: object) -> datetime | None:
        return None

    def advance(self, state: S, at: datetime) -> tuple[S, list[Alert]]:
        return state, []


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
    at: datetime | None = None,
) -> Alert:
    """Return the alert ``rule`` that ``event`` raises on ``dyad`` (``key`` narrows the id),
    stamped in log time so that a replay raises the identical alert. It is dated as the
    event is, unless ``at`` — a moment the model computed (a decay crossing) — is given."""
    return Alert(
        alert_id=alert_id(rule, dyad + key, event.event_id),
        rule=rule,
        severity=severity,
        dyad=dyad,
        at=at or event.occurred_at,
        when=at.date().isoformat() if at else event.when,
        window=None if at else event.occurred_window,
        raised_at=event.recorded_at,
        title=title,
        detail=detail,
        figures=figures,
        evidence=evidence or (event.event_id,),
    )


def timer_alert(
    rule: str,
    severity: Severity,
    dyad: str,
    at: datetime,
    *,
    title: str,
    detail: str,
    figures: dict[str, float | int | str],
    evidence: tuple[str, ...],
    key: str = "",
    window: Window | None = None,
) -> Alert:
    """Return the alert a timer raises at ``at`` in event time: dated and stamped at its
    due time (no event triggers it), so any replay raises the identical alert.

    ``window``: when the moment is known only within it (the timer runs from an act the
    sources date only to a window, and ``at`` is its earliest possible time); the alert
    then says the window, never a day."""
    return Alert(
        alert_id=alert_id(rule, dyad + key, f"@{at.isoformat()}"),
        rule=rule,
        severity=severity,
        dyad=dyad,
        at=at,
        when=window.label() if window else at.date().isoformat(),
        window=window,
        raised_at=at,
        title=title,
        detail=detail,
        figures=figures,
        evidence=evidence,
    )


def window_end(event: DiplomaticEvent) -> datetime | None:
    """The end of ``event``'s window if it ends after the instant the folds use (None:
    the sources date it to that instant's day)."""
    window = event.occurred_window
    return window.latest if window is not None and window.latest > event.occurred_at else None


def shifted(at: datetime, latest: datetime | None, delay: timedelta) -> Window | None:
    """When a timer set ``delay`` after an act falls, if the act is known only between
    ``at`` and ``latest``: that window moved by ``delay`` (None if the act's time is known)."""
    if latest is None or latest <= at:
        return None
    return Window(earliest=at + delay, latest=latest + delay)
