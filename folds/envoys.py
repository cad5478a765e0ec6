"""Envoy status per (sending country, host country): a state machine over envoy acts.

An impossible transition is a data-quality alert, never a crash; the state then
follows the event anyway (the log is the truth, the machine only flags doubts). A
"summoned" envoy goes back to where they were when the summons is closed, or when it
lapses (a timer, ``expiry_days`` after the summons, as the summons fold lapses the case).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

from pydantic import Field

from folds.base import StateModel, event_alert, shifted, timer_alert, window_end
from schemas.alerts import Alert, Severity
from schemas.codebook import Action
from schemas.dating import Window
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
    #: The latest ``since`` may be, if the sources date it only to a window.
    since_latest: datetime | None = None
    #: The events behind the latest changes, oldest first: the last ``HISTORY_KEPT``
    #: (a post's whole record is the log; the state stays the size of a board).
    history: tuple[str, ...] = ()
    #: While summoned: the status the envoy had before (restored when the summons ends).
    before: str | None = None


class EnvoysState(StateModel):
    """The envoy board of a dyad, keyed ``SENDING>HOST``."""

    dyad: str
    envoys: dict[str, EnvoyStatus] = Field(default_factory=dict)


class EnvoysFold:
    """The envoys aggregate: ``apply(state, event) -> (state, alerts)``."""

    name = "envoys"
    state_type = EnvoysState

    def __init__(self, summons_expiry_days: float = 90.0) -> None:
        self.expiry = timedelta(days=summons_expiry_days)

    def initial(self, key: str) -> EnvoysState:
        """Return an empty envoy board."""
        return EnvoysState(dyad=key)

    def due(self, state: EnvoysState) -> datetime | None:
        """When the earliest summons of an envoy still "summoned" lapses."""
        ends = [e.since + self.expiry for e in state.envoys.values() if e.since and _summoned(e)]
        return min(ends) if ends else None

    def advance(self, state: EnvoysState, at: datetime) -> tuple[EnvoysState, list[Alert]]:
        """Restore every envoy whose summons lapsed by ``at`` to their status before it."""
        board = dict(state.envoys)
        alerts = []
        for key, envoy in state.envoys.items():
            if _summoned(envoy) and envoy.since + self.expiry <= at:  # type: ignore[operator]
                window = shifted(envoy.since, envoy.since_latest, self.expiry)  # type: ignore[arg-type]
                when = window.label() if window else at.date().isoformat()
                latest = window.latest if window else None
                board[key] = _restored(envoy, at, when, latest=latest)
                alerts.append(self._lapsed(state.dyad, key, envoy, board[key], at, window))
        return EnvoysState(dyad=state.dyad, envoys=board), alerts

    def apply(self, state: EnvoysState, event: DiplomaticEvent) -> tuple[EnvoysState, list[Alert]]:
        """Move the envoy the event concerns to its new status; flag impossible moves."""
        # Only an act that took place moves an envoy: an announced summons summons no one.
        if event.envoy is None or event.mode is not Mode.DONE:
            return state, []
        key = f"{event.envoy.sending_country}>{event.envoy.host_country}"
        old = state.envoys.get(key) or EnvoyStatus(
            sending_country=event.envoy.sending_country, host_country=event.envoy.host_country
        )
        if event.action is Action.SUMMONS_CLOSED:
            return self._closed(state, key, old, event)
        if (status := _STATUS_OF.get(event.action)) is None:  # type: ignore[arg-type]
            return state, []
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
                    f"Data quality: {who} {where} cannot go from {_label(old.status)} "
                    f"to {_label(status)}",
                    f"The log says {event.summary!r}, but the envoy was {_label(old.status)}; "
                    "check the coding or a missing event.",
                    {"from": old.status, "to": status},
                )
            )
        new_name = event.envoy.name or (None if status == "accredited" else old.name)
        new = old.evolve(
            {
                "name": new_name,
                "status": status,
                "since": event.occurred_at,
                "since_when": event.when,
                "since_latest": window_end(event),
                "history": (*old.history, event.event_id)[-HISTORY_KEPT:],
                "before": (old.before if _summoned(old) else old.status)
                if status == "summoned"
                else None,
            }
        )
        figures: dict[str, float | int | str] = {"from": old.status, "to": status, "envoy": key}
        if _summoned(old) and status == "summoned":  # news, but no change of status
            title = f"{who} {where}: summoned again (summoned since {old.since_when})"
            figures["summoned_since"] = str(old.since_when)
        else:
            title = f"{who} {where}: {_label(old.status)} → {_label(status)}"
        alerts.append(
            self._alert(
                "envoys.status_changed",
                _SEVERITY[status],
                state.dyad,
                event,
                key,
                title,
                event.summary,
                figures,
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

    def _closed(
        self, state: EnvoysState, key: str, old: EnvoyStatus, event: DiplomaticEvent
    ) -> tuple[EnvoysState, list[Alert]]:
        """A summons closed: a summoned envoy goes back to their status before it."""
        if not _summoned(old):
            return state, []
        new = _restored(
            old, event.occurred_at, event.when, event.event_id, latest=window_end(event)
        )
        alert = self._alert(
            "envoys.status_changed",
            _SEVERITY[new.status],
            state.dyad,
            event,
            key,
            f"{old.name or key} in {old.host_country}: summoned → {_label(new.status)} "
            "(summons closed)",
            event.summary,
            {"from": "summoned", "to": new.status, "envoy": key},
        )
        return EnvoysState(dyad=state.dyad, envoys={**state.envoys, key: new}), [alert]

    @staticmethod
    def _lapsed(
        dyad: str, key: str, old: EnvoyStatus, new: EnvoyStatus, at: datetime, window: Window | None
    ) -> Alert:
        return timer_alert(
            "envoys.status_changed",
            Severity.INFO,
            dyad,
            at,
            title=f"{old.name or key} in {old.host_country}: summoned → {_label(new.status)} "
            "(summons lapsed)",
            detail=f"Summoned {old.since_when}; no outcome reported by "
            f"{new.since_when}, so the envoy is no longer shown as summoned.",
            figures={"from": "summoned", "to": new.status, "envoy": key},
            evidence=old.history[-1:] or (key,),
            key=f"|{key}",
            window=window,
        )


def _label(status: str) -> str:
    """A status as a title says it (``replacement_requested``: ``replacement requested``);
    the figures keep the code."""
    return status.replace("_", " ")


def _summoned(envoy: EnvoyStatus) -> bool:
    return envoy.status == "summoned" and envoy.since is not None


def _restored(
    envoy: EnvoyStatus, at: datetime, when: str, *evidence: str, latest: datetime | None = None
) -> EnvoyStatus:
    """The envoy back at their status before the summons, from ``at`` (up to ``latest``,
    when that is known only within a window)."""
    return envoy.evolve(
        {
            "status": envoy.before or "accredited",
            "since": at,
            "since_when": when,
            "since_latest": latest,
            "before": None,
            "history": (*envoy.history, *evidence)[-HISTORY_KEPT:],
        }
    )
