"""Envoy status per (sending country, host country): a state machine over envoy acts.

An impossible transition is a data-quality alert, never a crash; the state then
follows the event anyway (the log is the truth, the machine only flags doubts).
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from pydantic import Field

from folds.base import StateModel, event_alert
from schemas.alerts import Alert, Severity
from schemas.codebook import Action
from schemas.events import DiplomaticEvent, Mode

__all__ = ["EnvoyStatus", "EnvoysFold", "EnvoysState"]

_STATUS_OF: Final = {
    Action.ENVOY_ACCREDITED: "accredited",
    Action.SUMMON_ENVOY: "summoned",
    Action.ENVOY_DEPARTED: "departed",
    Action.ENVOY_RETURNED: "returned",
    Action.ENVOY_REPLACEMENT_REQUESTED: "replacement_requested",
    Action.ENVOY_RECALLED: "recalled",
    Action.ENVOY_EXPELLED: "expelled",
    Action.ENVOY_REPLACED: "replaced",
}
_ACTIVE: Final = frozenset({"accredited", "summoned", "returned", "replacement_requested"})
#: status -> statuses it may move to.
_ALLOWED: Final = {
    "accredited": _ACTIVE | {"departed", "recalled", "expelled"},
    "summoned": _ACTIVE | {"departed", "recalled", "expelled"},
    "returned": _ACTIVE | {"departed", "recalled", "expelled"},
    "departed": {"returned", "replacement_requested", "recalled", "expelled", "summoned"},
    "replacement_requested": {
        "departed",
        "returned",
        "recalled",
        "expelled",
        "replaced",
        "summoned",
        "replacement_requested",
    },
    "recalled": {"replaced", "accredited"},
    "expelled": {"replaced", "accredited"},
    "replaced": {"accredited", *_ACTIVE, "departed", "recalled", "expelled"},
}
_SEVERITY: Final = {
    "accredited": Severity.INFO,
    "summoned": Severity.WARNING,
    "departed": Severity.WARNING,
    "returned": Severity.WARNING,
    "replacement_requested": Severity.HIGH,
    "recalled": Severity.HIGH,
    "expelled": Severity.CRITICAL,
    "replaced": Severity.INFO,
}


HISTORY_KEPT: Final = 20


class EnvoyStatus(StateModel):
    """One head of mission: who, status, since when, and the events that got it there."""

    sending_country: str
    host_country: str
    name: str | None = None
    status: str = "accredited"
    since: datetime | None = None
    #: ``since`` as precisely as the sources date it (``2022-10``, a window …).
    since_when: str | None = None
    #: The events behind the latest changes, oldest first: the last ``HISTORY_KEPT``
    #: (a post's whole record is the log; the state stays the size of a board).
    history: tuple[str, ...] = ()


class EnvoysState(StateModel):
    """The envoy board of a dyad, keyed ``SENDING>HOST``."""

    dyad: str
    envoys: dict[str, EnvoyStatus] = Field(default_factory=dict)


class EnvoysFold:
    """The envoys aggregate: ``apply(state, event) -> (state, alerts)``."""

    name = "envoys"
    state_type = EnvoysState

    def initial(self, key: str) -> EnvoysState:
        """Return an empty envoy board."""
        return EnvoysState(dyad=key)

    def apply(self, state: EnvoysState, event: DiplomaticEvent) -> tuple[EnvoysState, list[Alert]]:
        """Move the envoy the event concerns to its new status; flag impossible moves."""
        # Only an act that took place moves an envoy: an announced summons summons no one.
        status = _STATUS_OF.get(event.action) if event.action is not None else None
        if status is None or event.envoy is None or event.mode is not Mode.DONE:
            return state, []
        key = f"{event.envoy.sending_country}>{event.envoy.host_country}"
        old = state.envoys.get(key) or EnvoyStatus(
            sending_country=event.envoy.sending_country, host_country=event.envoy.host_country
        )
        if old.status == status and status != "summoned":
            return state, []
        alerts: list[Alert] = []
        who = event.envoy.name or old.name or f"{event.envoy.sending_country}'s envoy"
        where = f"in {event.envoy.host_country}"
        if status not in _ALLOWED[old.status]:
            alerts.append(
                self._alert(
                    "envoys.impossible_transition",
                    Severity.WARNING,
                    state.dyad,
                    event,
                    key,
                    f"Data quality: {who} {where} cannot go from {old.status} to {status}",
                    f"The log says {event.summary!r}, but the envoy was {old.status}; "
                    "check the coding or a missing event.",
                    {"from": old.status, "to": status},
                )
            )
        new_name = event.envoy.name or (None if status == "accredited" else old.name)
        new = old.model_copy(
            update={
                "name": new_name,
                "status": status,
                "since": event.occurred_at,
                "since_when": event.when,
                "history": (*old.history, event.event_id)[-HISTORY_KEPT:],
            }
        )
        alerts.append(
            self._alert(
                "envoys.status_changed",
                _SEVERITY[status],
                state.dyad,
                event,
                key,
                f"{who} {where}: {old.status} → {status}",
                event.summary,
                {"from": old.status, "to": status, "envoy": key},
            )
        )
        board = dict(state.envoys)
        board[key] = new
        return EnvoysState(dyad=state.dyad, envoys=dict(sorted(board.items()))), alerts

    @staticmethod
    def _alert(
        rule: str,
        severity: Severity,
        dyad: str,
        event: DiplomaticEvent,
        key: str,
        title: str,
        detail: str,
        figures: dict[str, float | int | str],
    ) -> Alert:
        return event_alert(
            rule, severity, dyad, event, title=title, detail=detail, figures=figures, key=f"|{key}"
        )
