"""The engine's one step: guard an event (dedup, horizon), then fold it into every aggregate.

The Faust agent and the offline fold both call :func:`apply_all`; they differ only in
where the table values live (Faust tables or dicts) and where the alerts go.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from folds.base import Fold
from folds.guard import DEDUP_HORIZON_DAYS, Guarded, check_horizon
from schemas.alerts import Alert
from schemas.errors import InvalidRecord
from schemas.events import DiplomaticEvent

__all__ = ["FoldFailed", "Folded", "apply_all"]

#: A table value as stored: the guard itself, its JSON form (after a changelog
#: recovery) or None for a dyad the aggregate has not seen.
TableValue = Guarded[Any] | dict[str, Any] | None


class FoldFailed(InvalidRecord):
    """A fold raised on an event: the record is dead-lettered with this reason, and no
    fold's state moves (the worker goes on with the next record)."""


@dataclass
class Folded:
    """What one event did: the guards to store (by fold name), the alerts raised, and the
    folds that had already seen it (a redelivery)."""

    updated: dict[str, Guarded[Any]] = field(default_factory=dict)
    alerts: list[Alert] = field(default_factory=list)
    duplicate_in: list[str] = field(default_factory=list)


def apply_all(
    folds: Sequence[Fold[Any]],
    values: Mapping[str, TableValue],
    event: DiplomaticEvent,
    horizon_days: int = DEDUP_HORIZON_DAYS,
) -> Folded:
    """Fold ``event`` into every fold, given each fold's current value for the event's dyad.

    Raises :class:`~folds.guard.TooLate` if the event falls behind the dedup
    horizon of any fold, and :class:`FoldFailed` if a fold raises or raises an alert of
    another aggregate's rules (it would go to another topic); in both cases no fold's
    state has moved.
    """
    dyad = event.dyad
    guards = {f.name: Guarded.of(f, dyad, values.get(f.name), horizon_days) for f in folds}
    for guard in guards.values():
        check_horizon(guard, event)
    folded = Folded()
    results: list[tuple[Guarded[Any], Any]] = []
    for fold in folds:
        guard = guards[fold.name]
        if guard.seen_before(event):
            folded.duplicate_in.append(fold.name)
            continue
        state, alerts = _fold_one(fold, guard, event)
        results.append((guard, state))
        folded.updated[fold.name] = guard
        folded.alerts.extend(alerts)
    # Every fold succeeded: only now does any guard change (all or nothing).
    for guard, state in results:
        guard.commit(event, state)
    return folded


def _fold_one(
    fold: Fold[Any], guard: Guarded[Any], event: DiplomaticEvent
) -> tuple[Any, list[Alert]]:
    """Return ``fold``'s new state and alerts for ``event``; any failure is the record's
    (:class:`FoldFailed`), so the worker dead-letters it instead of stopping."""
    try:
        state, alerts = fold.apply(guard.state, event)
    except Exception as exc:  # a fold must be total; if it is not, the record goes aside
        raise FoldFailed(
            f"fold {fold.name!r} failed on event {event.event_id!r} ({event.dyad}, "
            f"{event.occurred_at.isoformat()}): {type(exc).__name__}: {str(exc)[:300]}"
        ) from exc
    for alert in alerts:
        if alert.aggregate != fold.name:
            raise FoldFailed(f"fold {fold.name!r} raised alert rule {alert.rule!r}")
    return state, alerts
