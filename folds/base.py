"""What every fold shares: the fold protocol, its state base and the alert helper.

A fold is pure: ``apply(state, event) -> (state, alerts)``, no clock, no I/O, no Faust.
"""

from __future__ import annotations

from datetime import datetime
from typing import Generic, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict

from schemas.alerts import Alert, Severity, alert_id
from schemas.events import DiplomaticEvent

__all__ = ["Fold", "StateModel", "event_alert"]

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
