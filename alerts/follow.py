"""Follow the alert topics: from now, from the beginning or from an event time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from datetime import datetime

from aiokafka import AIOKafkaConsumer, TopicPartition

from infra.clients import plain_consumer, refresh_metadata
from infra.connection import Connection
from schemas.alerts import Alert
from schemas.codec import decode_alert
from schemas.errors import InvalidRecord
from schemas.filters import AlertFilter
from schemas.text import printable

__all__ = ["follow_alerts", "render_alert"]


def render_alert(alert: Alert) -> str:
    """Return one human-readable line for an alert; text from the topic is escaped (a
    control sequence in a title must not reach the terminal)."""
    return printable(
        f"{alert.when:<21}  {alert.dyad}  [{alert.severity.value:<8}] "
        f"{alert.rule:<28} {alert.title}"
    )


async def follow_alerts(
    target: Connection | str,
    topics: Sequence[str],
    on_alert: Callable[[Alert], None],
    *,
    start: str | datetime = "end",
    alert_filter: AlertFilter = AlertFilter(),
    max_alerts: int | None = None,
    idle_timeout_s: float | None = None,
    stop: asyncio.Event | None = None,
) -> int:
    """Call ``on_alert`` for each matching alert; return how many were shown.

    ``start`` is ``"end"`` (from now), ``"beginning"``, or an event time (the alert
    topics' record timestamps are the alerts' event time).
    """
    consumer = plain_consumer(
        target, auto_offset_reset="earliest" if start == "beginning" else "latest"
    )
    await consumer.start()
    shown = 0
    try:
        await _seek_start(consumer, topics, start)
        last = time.monotonic()
        while not (stop and stop.is_set()):
            batch = await consumer.getmany(timeout_ms=200)
            if not batch:
                if idle_timeout_s is not None and time.monotonic() - last > idle_timeout_s:
                    break
                continue
            last = time.monotonic()
            for records in batch.values():
                for record in records:
                    try:
                        alert = decode_alert(record.value)
                    except InvalidRecord:
                        continue
                    # Offsets for times find the first record at or after the date; a
                    # partition's timestamps need not be sorted, so earlier ones that
                    # follow it are skipped too.
                    if isinstance(start, datetime) and alert.at < start:
                        continue
                    if alert_filter.accepts(alert):
                        on_alert(alert)
                        shown += 1
                        if max_alerts is not None and shown >= max_alerts:
                            return shown
        return shown
    finally:
        await consumer.stop()


async def _seek_start(
    consumer: AIOKafkaConsumer, topics: Sequence[str], start: str | datetime
) -> None:
    """Assign every partition of ``topics`` and seek each to where ``start`` says."""
    parts = [TopicPartition(t, p) for t in topics for p in sorted(await _partitions(consumer, t))]
    consumer.assign(parts)
    if start == "beginning":
        await consumer.seek_to_beginning(*parts)
    elif start == "end":
        await consumer.seek_to_end(*parts)
    else:
        assert isinstance(start, datetime)
        stamp = int(start.timestamp() * 1000)
        offsets = await consumer.offsets_for_times({tp: stamp for tp in parts})
        for tp, found in offsets.items():
            if found is None:
                await consumer.seek_to_end(tp)
            else:
                consumer.seek(tp, found.offset)


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> set[int]:
    for _ in range(50):
        parts = consumer.partitions_for_topic(topic)
        if parts:
            return set(parts)
        await refresh_metadata(consumer)  # the topic may be brand new
        await asyncio.sleep(0.1)
    return {0}
