"""A partition's engine, restored from the timeline table after a (re)start or rebalance."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import orjson
from pydantic import ValidationError

from folds.base import Fold
from folds.dyadlog import DyadLog
from folds.engine import Engine
from folds.stored import chunk_number, is_chunk_key
from infra.logs import get_logger

__all__ = ["restore_engine", "stored_items"]


log = get_logger(__name__)


def restore_engine(
    folds: Sequence[Fold[Any]],
    lateness_days: float,
    partition: int,
    items: Iterable[tuple[str, Any]],
) -> Engine:
    """Return the engine of ``partition`` from the timeline table's ``items``: its
    watermark, and every dyad log of the partition, with the chunks of retained events it
    lists (folds/stored.py), its timers scheduled. A value that cannot be read back (or
    whose chunk is missing) is logged and skipped (the dyad starts afresh). ``items`` are
    read (:func:`stored_items`)."""
    engine = Engine(folds, lateness_days, partition)
    items = list(items)
    chunks = {k: v for k, v in items if is_chunk_key(k) and isinstance(v, dict)}
    for key, value in items:
        if key == f"~watermark/{partition}" and isinstance(value, dict):
            engine.timers.watermark = datetime.fromisoformat(value["watermark"])
        if key.startswith("~") or value is None or is_chunk_key(key):
            continue
        if isinstance(value, DyadLog):
            if value.partition == partition:
                engine.restore(value)
            continue
        if not isinstance(value, dict) or value.get("partition") != partition:
            continue
        try:
            engine.restore(DyadLog.load(folds, value, engine.lateness, chunks))
        except (ValidationError, KeyError, TypeError, ValueError) as exc:
            log.error(
                "table_value_discarded", dyad=key, reason=f"{type(exc).__name__}: {exc!s:.200}"
            )
    _orphans(engine, chunks)
    return engine


def _orphans(engine: Engine, chunks: dict[str, Any]) -> None:
    """Chunks of the partition that no restored value lists — written by a worker that
    stopped before the value listing them — go at the dyad's next write-back, which is
    due at once (a quiet pair would otherwise keep them for ever)."""
    for key, value in chunks.items():
        log = engine.logs.get(value.get("dyad", ""))
        if value.get("partition") != engine.partition or log is None or log.stored.lists(key):
            continue
        if (number := chunk_number(key)) is None:  # not a key this code writes: left alone
            continue
        log.stored.orphaned(key, number)
        engine.dirty.add(log.dyad)


def stored_items(items: Iterable[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """The timeline table's items, read: a value is either what Faust's recovery read
    back from the changelog, or the JSON bytes the fold process wrote
    (streams/fold_process.py), parsed here (None if it cannot be)."""
    return [(key, _read(key, value)) for key, value in items]


def _read(key: str, value: Any) -> Any:
    if not isinstance(value, bytes):
        return value
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        log.error("table_value_discarded", dyad=key, reason=f"JSONDecodeError: {exc!s:.200}")
        return None
