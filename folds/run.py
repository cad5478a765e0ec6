"""A position in a dyad's sorted fold: each fold's state and next due time, and the event
time reached; and the two ways a fold moves it on, timers firing and an event applied.
(folds/dyadlog.py keeps the head, the week-start checkpoints and the re-fold from them.)"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from folds.base import Fold
from folds.change import FoldFailed
from schemas.alerts import Alert
from schemas.events import DiplomaticEvent

__all__ = ["Run"]


class Run:
    """A position in a sorted fold: each fold's state and next due time, and the event
    time reached (events at or before it applied, timers due by it fired)."""

    __slots__ = ("at", "dues", "states")

    def __init__(self, folds: Sequence[Fold[Any]], states: list[Any], at: datetime | None) -> None:
        self.states = list(states)
        self.dues = [f.due(s) for f, s in zip(folds, states, strict=True)]
        self.at = at

    def copy(self) -> Run:
        new = Run.__new__(Run)
        new.states, new.dues, new.at = list(self.states), list(self.dues), self.at
        return new

    def due_by(self, at: datetime) -> bool:
        """Whether a timer fires at or before ``at``."""
        for due in self.dues:  # noqa: SIM110 (any() over a generator costs more, once per event)
            if due is not None and due <= at:
                return True
        return False

    def fire(
        self, folds: Sequence[Fold[Any]], until: datetime, out: list[Alert], *, inclusive: bool
    ) -> None:
        """Fire every timer due by ``until`` (at it too if ``inclusive``), earliest first."""
        if not any(self.dues):  # no timer pending (due times are never falsy)
            return
        while True:
            due, index = None, -1
            for i, d in enumerate(self.dues):
                fires = d is not None and (d < until or (inclusive and d == until))
                if fires and (due is None or d < due):  # type: ignore[operator]
                    due, index = d, i
            if due is None:
                return
            fold = folds[index]
            state, alerts = fold.advance(self.states[index], due)
            next_due = fold.due(state)
            if not alerts and next_due == due and state == self.states[index]:
                raise FoldFailed(f"fold {fold.name!r}: a timer due {due} fired in place")
            self.states[index], self.dues[index] = state, next_due
            out.extend(alerts)

    def apply(
        self, folds: Sequence[Fold[Any]], dyad: str, event: DiplomaticEvent, out: list[Alert]
    ) -> None:
        """Apply ``event`` to every fold, all or nothing."""
        old = self.states
        states, dues = list(old), self.dues
        raised: list[Alert] = []
        for i, fold in enumerate(folds):
            try:
                result, alerts = fold.apply(old[i], event)
            except Exception as exc:  # a fold must be total; if not, the record goes aside
                raise FoldFailed(
                    f"fold {fold.name!r} failed on event {event.event_id!r} ({dyad}, "
                    f"{event.occurred_at.isoformat()}): {type(exc).__name__}: {str(exc)[:300]}"
                ) from exc
            if alerts:
                for alert in alerts:
                    if alert.aggregate != fold.name:
                        raise FoldFailed(f"fold {fold.name!r} raised alert rule {alert.rule!r}")
                raised.extend(alerts)
            if result is not old[i]:  # a fold the event left alone keeps its due time
                if dues is self.dues:
                    dues = list(dues)
                states[i], dues[i] = result, fold.due(result)
        self.states, self.dues = states, dues
        out.extend(raised)
