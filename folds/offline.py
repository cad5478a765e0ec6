"""The offline reference: the engine's pipeline run over a sequence of events in memory."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from folds.base import Fold
from folds.guard import DEDUP_HORIZON_DAYS, Guarded
from folds.pipeline import apply_all
from schemas.alerts import Alert
from schemas.errors import InvalidRecord
from schemas.events import DiplomaticEvent

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
    horizon or that a fold fails on are refused, as the worker dead-letters them, and
    listed in ``refused``.
    """
    tables: dict[str, dict[str, Guarded[Any]]] = {fold.name: {} for fold in folds}
    raised: list[Alert] = []
    for event in events:
        dyad = event.dyad
        try:
            folded = apply_all(
                folds, {n: t.get(dyad) for n, t in tables.items()}, event, horizon_days
            )
        except InvalidRecord as exc:  # TooLate or FoldFailed, as the worker refuses them
            if refused is not None:
                refused.append((event, exc.reason))
            continue
        for name, guard in folded.updated.items():
            tables[name][dyad] = guard
        raised.extend(folded.alerts)
    state = {name: {k: g.dump() for k, g in t.items()} for name, t in tables.items()}
    return state, raised
