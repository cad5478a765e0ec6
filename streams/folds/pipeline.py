"""The engine's one step: guard an event (dedup, horizon), then fold it into every aggregate.

The Faust agent and the offline fold both call :func:`apply_all`; they differ only in
where the table values live (Faust tables or dicts) and where the alerts go.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from schemas.alerts import Alert
from schemas.events import DiplomaticEvent
from streams.folds.base import Fold
from streams.folds.guard import DEDUP_HORIZON_DAYS, Guarded, check_horizon

__all__ = ["Folded", "apply_all"]

#: A table value as stored: the guard itself, its JSON form (after a changelog
#: recovery) or None for a dyad the aggregate has not seen.
TableValue = Guarded[Any] | dict[str, Any] | None


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

    Raises :class:`~streams.folds.guard.TooLate` — before any fold is touched — if the
    event falls behind the dedup horizon of any of them. An alert whose rule does not
    start with its fold's name is a programming error (it would go to another aggregate's
    topic) and raises ``ValueError``.
    """
    dyad = event.dyad
    guards = {f.name: Guarded.of(f, dyad, values.get(f.name), horizon_days) for f in folds}
    for guard in guards.values():
        check_horizon(guard, event)
    folded = Folded()
    for fold in folds:
        guard = guards[fold.name]
        alerts = guard.apply(fold, event)
        if alerts is None:
            folded.duplicate_in.append(fold.name)
            continue
        folded.updated[fold.name] = guard
        for alert in alerts:
            if alert.aggregate != fold.name:
                raise ValueError(f"fold {fold.name!r} raised alert rule {alert.rule!r}")
        folded.alerts.extend(alerts)
    return folded
