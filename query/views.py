"""What the query API and the dashboard show: plain JSON views of the fold states.

Pure functions of a state (and, for projections, of today's date), so the offline
fold and either worker's read model give the same answer for the same log.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from folds.base import StateModel
from folds.envoys import EnvoysState
from folds.summons import SummonsFold, SummonsState
from folds.tension import LEVELS, TensionFold, TensionState
from schemas.alerts import Alert

__all__ = [
    "alert_view",
    "envoy_rows",
    "lapsed_summons",
    "open_summons",
    "state_rows",
    "tension_summary",
    "tension_view",
]


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def tension_summary(fold: TensionFold, state: TensionState, today: datetime) -> dict[str, Any]:
    """The dyad's level and score now (at its latest event) and projected to ``today``."""
    at = max(today, state.as_of) if state.as_of is not None else today
    current = fold.scores(state)
    projected = fold.scores(state, at)
    until = fold.armed_conflict_until(state)
    return {
        "dyad": state.dyad,
        "events": state.events,
        "first_at": _iso(state.first_at),
        "as_of": _iso(state.as_of),
        "level": LEVELS[state.band],
        "current": current,
        "projected": {"at": at.isoformat(), "level": LEVELS[fold.level_at(state, at)]} | projected,
        "armed_conflict": {"since": _iso(state.last_force_at), "until": _iso(until)}
        if until is not None
        else None,
    }


def tension_view(
    fold: TensionFold,
    state: TensionState,
    history: list[tuple[datetime, float]],
    today: datetime,
) -> dict[str, Any]:
    """:func:`tension_summary` plus the weekly history points for a chart."""
    return tension_summary(fold, state, today) | {
        "history": [{"at": at.isoformat(), "conflict": v} for at, v in history]
    }


def state_rows(states: Mapping[str, StateModel], wanted: set[str] | None) -> list[dict[str, Any]]:
    """Any aggregate's states as JSON rows, one per dyad, in dyad order."""
    return [
        {"dyad": dyad, "state": state.model_dump(mode="json")}
        for dyad, state in sorted(states.items())
        if wanted is None or dyad in wanted
    ]


def lapsed_summons(state: SummonsState) -> list[dict[str, Any]]:
    """The dyad's latest lapsed cases (no outcome reported in time), oldest first."""
    return [case.model_dump(mode="json") | {"dyad": state.dyad} for case in state.lapsed]


def open_summons(fold: SummonsFold, state: SummonsState, today: datetime) -> list[dict[str, Any]]:
    """The dyad's open summons cases, oldest first, with when each lapses if nothing
    more is heard (a timer lapses it then, once event time gets there) and whether that
    day is past by ``today``."""
    expiry = timedelta(days=fold.config.expiry_days)
    return [
        case.model_dump(mode="json")
        | {
            "dyad": state.dyad,
            "lapses_at": (case.opened_at + expiry).isoformat(),
            "lapsed": case.opened_at + expiry <= today,
        }
        for case in sorted(state.open, key=lambda c: (c.opened_at, c.case_id))
    ]


def envoy_rows(state: EnvoysState) -> list[dict[str, Any]]:
    """The envoy board rows of a dyad: one per envoy known, in key order."""
    return [
        envoy.model_dump(mode="json") | {"dyad": state.dyad, "key": key}
        for key, envoy in sorted(state.envoys.items())
    ]


def alert_view(alert: Alert, withdrawn_by: str | None = None) -> dict[str, Any]:
    """An alert as JSON, with its aggregate and, if a later alert withdrew it, which."""
    return alert.model_dump(mode="json") | {
        "aggregate": alert.aggregate,
        "withdrawn_by": withdrawn_by,
    }
