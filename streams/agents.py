"""Thin Faust adapters: decode, re-key or dead-letter, dedup+fold per aggregate, store, send."""

from __future__ import annotations

import time
import weakref
from datetime import UTC, datetime
from typing import Any, Final

import faust
from faust.streams import _current_event

from dipwatch.logs import get_logger
from dipwatch.settings import Settings
from dipwatch.topics import ALERT_AGGREGATES, REASON_HEADER, SOURCE_HEADER, Topics
from schemas.codec import decode_event, encode_alert
from schemas.errors import InvalidRecord
from schemas.events import FUTURE_TOLERANCE, DiplomaticEvent
from streams.aggregates import build_folds
from streams.folds.base import Guarded, TooLate, check_horizon, guarded_apply

__all__ = ["check_log_time", "register_agents"]

log = get_logger(__name__)

FUTURE_TOLERANCE_S: Final = FUTURE_TOLERANCE.total_seconds()


def check_log_time(event: DiplomaticEvent, record_timestamp: float | None) -> None:
    """Refuse an event dated after the record that carries it (log time, not wall clock:
    a replay of the same log decides the same)."""
    if record_timestamp is None or record_timestamp <= 0:
        return
    if event.occurred_at.timestamp() > record_timestamp + FUTURE_TOLERANCE_S:
        logged = datetime.fromtimestamp(record_timestamp, UTC).isoformat(timespec="seconds")
        raise InvalidRecord(
            f"occurred_at {event.occurred_at.isoformat()} is in the future of its record "
            f"(record timestamp {logged}): an event cannot be published before it happens"
        )


def register_agents(app: faust.App, settings: Settings) -> None:
    """Declare the topics, tables and the folding agent on ``app``."""
    topics = Topics(settings.topic_prefix, settings.partitions)
    raw: dict[str, Any] = {"key_serializer": "raw", "value_serializer": "raw"}
    events = app.topic(topics.events, partitions=settings.partitions, **raw)
    dead_letter = app.topic(topics.dead_letter, partitions=1, **raw)
    alert_topics = {
        a: app.topic(topics.alerts(a), partitions=settings.partitions, **raw)
        for a in ALERT_AGGREGATES
    }
    folds = build_folds(settings)
    tables = {
        fold.name: app.Table(
            topics.table(fold.name),
            default=None,
            partitions=settings.partitions,
            help=f"{fold.name} state and dedup set per dyad",
        )
        for fold in folds
    }
    app.dipwatch_tables = tables  # type: ignore[attr-defined]  # for the web views

    horizon = settings.dedup_horizon_days

    async def to_dead_letter(message: Any, where: str, reason: str, bound: Any) -> None:
        await dead_letter.send(
            key=message.key,
            value=message.value,
            headers=[(REASON_HEADER, reason.encode()), (SOURCE_HEADER, where.encode())],
        )
        bound.warning("record_dead_lettered", reason=reason)

    async def handle(record: Any, pending: dict[tuple[str, str], tuple[Guarded[Any], Any]]) -> None:
        """Fold one record; touched table values wait in ``pending`` for the batch end."""
        message = record.message
        where = f"{message.topic}:{message.partition}:{message.offset}"
        bound = log.bind(topic=message.topic, partition=message.partition, offset=message.offset)
        try:
            event = decode_event(message.value)
            check_log_time(event, message.timestamp)
        except InvalidRecord as exc:
            await to_dead_letter(message, where, exc.reason, bound)
            return
        dyad = event.dyad
        if message.key != dyad.encode():
            # State lives in the dyad's partition: send the record there, once.
            await events.send(
                key=dyad.encode(),
                value=message.value,
                timestamp=event.occurred_at.timestamp(),
                headers=[(SOURCE_HEADER, where.encode())],
            )
            bound.warning("record_rekeyed", event_id=event.event_id, key=message.key)
            return
        current = {
            fold.name: pending[(fold.name, dyad)][0]
            if (fold.name, dyad) in pending
            else Guarded.of(fold, dyad, tables[fold.name].get(dyad), horizon)
            for fold in folds
        }
        try:
            for fold in folds:
                check_horizon(current[fold.name], event)
        except TooLate as exc:
            await to_dead_letter(message, where, exc.reason, bound)
            return
        for fold in folds:
            value, alerts = guarded_apply(fold, dyad, current[fold.name], event, horizon)
            if value is None:
                bound.info("event_duplicate_skipped", event_id=event.event_id, fold=fold.name)
                continue
            pending[(fold.name, dyad)] = (value, record)
            for alert in alerts:
                await alert_topics[alert.aggregate].send(
                    key=dyad.encode(),
                    value=encode_alert(alert),
                    timestamp=alert.at.timestamp(),
                )
                bound.info("alert_raised", alert_id=alert.alert_id, rule=alert.rule, dyad=dyad)

    @app.agent(events, name="dipwatch.fold", concurrency=1)
    async def fold_events(stream: faust.StreamT[Any]) -> None:
        # Batches: a dyad touched n times in a batch costs one changelog write, not n.
        batches = stream.take_events(settings.batch_size, within=settings.batch_within_s)  # type: ignore[attr-defined]
        async for batch in batches:
            app.dipwatch_last_event = time.monotonic()  # type: ignore[attr-defined]
            pending: dict[tuple[str, str], tuple[Guarded[Any], Any]] = {}
            for record in batch:
                await handle(record, pending)
            for (name, dyad), (value, record) in pending.items():
                # The changelog partition is the record's: Faust reads it from the
                # current-event context variable, which a batch does not set. Only
                # this task's context is touched, not the stream's shared attribute.
                token = _current_event.set(weakref.ref(record))
                try:
                    tables[name][dyad] = value
                finally:
                    _current_event.reset(token)
