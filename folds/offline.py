"""The offline reference: the engine run over a sequence of events in memory, as one
partition whose watermark is the latest event time seen."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from folds.base import Fold
from folds.dyadlog import DyadLog
from folds.engine import Engine
from schemas.alerts import Alert
from schemas.errors import InvalidRecord
from schemas.events import ALLOWED_LATENESS_DAYS, DiplomaticEvent

__all__ = ["ALLOWED_LATENESS_DAYS", "OfflineResult", "fold_all", "fold_offline", "table_values"]


OfflineResult = tuple[dict[str, dict[str, Any]], list[Alert]]


def table_values(folds: Sequence[Fold[Any]], logs: dict[str, DyadLog]) -> dict[str, dict[str, Any]]:
    """Each fold's current state per dyad, as the read model takes it from the dyad
    logs' heads (none for a dyad with nothing to say, e.g. whose only event was
    retracted)."""
    heads = {d: head for d, log in logs.items() if (head := log.head_json()) is not None}
    return {f.name: {d: {"state": head[f.name]} for d, head in heads.items()} for f in folds}


def fold_offline(
    folds: Sequence[Fold[Any]],
    events: Iterable[DiplomaticEvent],
    *,
    lateness_days: float = ALLOWED_LATENESS_DAYS,
    refused: list[tuple[str, str]] | None = None,
    until: datetime | None = None,
) -> OfflineResult:
    """Fold ``events`` (in log order) through every fold; return (state, alerts).

    ``state`` maps fold name -> dyad -> table value, the values the worker's aggregate
    tables hold; alerts (withdrawals included) come in the order they are raised. At
    the end every dyad is advanced to the latest event time (or ``until``), as the
    replay's closing tick advances every partition. Events past the allowed lateness
    behind their dyad's watermark, or that a fold fails on, are refused as the worker
    dead-letters them, and listed in ``refused`` as (event id, reason); so are records
    found later to have done nothing (a retraction whose act never came,
    folds/tombstones.py), where found.
    """
    engine = Engine(folds, lateness_days)
    raised: list[Alert] = []
    out = refused if refused is not None else []
    for event in events:
        raised.extend(engine.tick(event.occurred_at))
        try:
            raised.extend(engine.add(event).alerts)
        except InvalidRecord as exc:  # TooLate or FoldFailed, as the worker refuses them
            out.extend(_found(engine, (event.event_id, exc.reason)))
            continue
        if engine.found:
            out.extend(_found(engine))
    raised.extend(engine.settle_all(until))
    out.extend(_found(engine))
    return table_values(folds, engine.logs), raised


def _found(engine: Engine, *refused: tuple[str, str]) -> list[tuple[str, str]]:
    """What one step refused or set aside, as (event id, reason), by reason: the order
    of ``folds.parallel``, which finds a step's set-asides in several processes."""
    found = [*refused, *((ref["event_id"], why) for ref, _, why in engine.set_aside())]
    return sorted(found, key=lambda item: item[1]) if len(found) > 1 else found


def fold_all(
    fold: Fold[Any],
    key: str,
    events: Iterable[DiplomaticEvent],
    *,
    lateness_days: float = ALLOWED_LATENESS_DAYS,
    until: datetime | None = None,
) -> tuple[dict[str, Any] | None, list[Alert]]:
    """One fold over one dyad's events (in arrival order), advanced at the end to the
    latest event time (or ``until``); for tests. Returns (table value, alerts raised)."""
    state, alerts = fold_offline([fold], events, lateness_days=lateness_days, until=until)
    return state[fold.name].get(key), alerts
