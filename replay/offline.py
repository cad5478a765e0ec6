"""The offline reference: fold events in memory, exactly as the worker would."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from schemas.alerts import Alert
from schemas.events import DiplomaticEvent
from streams.folds.base import Fold, guarded_apply

__all__ = ["OfflineResult", "fold_offline"]

OfflineResult = tuple[dict[str, dict[str, Any]], list[Alert]]


def fold_offline(folds: Sequence[Fold[Any]], events: Iterable[DiplomaticEvent]) -> OfflineResult:
    """Fold ``events`` (in log order) through every fold; return (state, alerts).

    ``state`` maps fold name -> dyad -> table value, the same values the worker's
    tables hold; alerts come in the order they are raised.
    """
    state: dict[str, dict[str, Any]] = {fold.name: {} for fold in folds}
    raised: list[Alert] = []
    for event in events:
        for fold in folds:
            table = state[fold.name]
            value, alerts = guarded_apply(fold, event.dyad, table.get(event.dyad), event)
            if value is not None:
                table[event.dyad] = value
            raised.extend(alerts)
    return state, raised
