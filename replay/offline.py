"""The offline reference: fold events in memory, exactly as the worker would."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from schemas.alerts import Alert
from schemas.events import DiplomaticEvent
from streams.folds.base import DEDUP_HORIZON_DAYS, Fold, TooLate, check_horizon, guarded_apply

__all__ = ["OfflineResult", "fold_offline"]

OfflineResult = tuple[dict[str, dict[str, Any]], list[Alert]]


def fold_offline(
    folds: Sequence[Fold[Any]],
    events: Iterable[DiplomaticEvent],
    *,
    horizon_days: int = DEDUP_HORIZON_DAYS,
    refused: list[tuple[DiplomaticEvent, str]] | None = None,
) -> OfflineResult:
    """Fold ``events`` (in log order) through every fold; return (state, alerts).

    ``state`` maps fold name -> dyad -> table value, the same values the worker's
    tables hold; alerts come in the order they are raised. Events past the dedup
    horizon are refused, as the worker refuses them, and listed in ``refused``.
    """
    tables: dict[str, dict[str, Any]] = {fold.name: {} for fold in folds}
    raised: list[Alert] = []
    for event in events:
        try:
            for fold in folds:
                check_horizon(tables[fold.name].get(event.dyad), event)
        except TooLate as exc:
            if refused is not None:
                refused.append((event, exc.reason))
            continue
        for fold in folds:
            table = tables[fold.name]
            value, alerts = guarded_apply(
                fold, event.dyad, table.get(event.dyad), event, horizon_days
            )
            if value is not None:
                table[event.dyad] = value
            raised.extend(alerts)
    state = {name: {k: g.dump() for k, g in t.items()} for name, t in tables.items()}
    return state, raised
