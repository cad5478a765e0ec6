"""Real-client helpers for the integration tests: produce, consume, collect alerts."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition

from alerts.follow import follow_alerts
from folds.stored import is_chunk_key
from schemas.alerts import Alert
from schemas.ticks import TICK_KEY


async def produce(
    bootstrap: str,
    topic: str,
    records: Iterable[tuple[bytes | None, bytes]],
    timestamps_ms: dict[bytes, int] | None = None,
) -> None:
    """Send ``records`` in order; ``timestamps_ms`` sets the record timestamp of a value."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=False,
        max_request_size=4 * 1024 * 1024,
    )
    await producer.start()
    try:
        for key, value in records:
            stamp = (timestamps_ms or {}).get(value)
            await producer.send_and_wait(topic, key=key, value=value, timestamp_ms=stamp)
    finally:
        await producer.stop()


async def consume(
    bootstrap: str,
    topic: str,
    *,
    idle_s: float = 3.0,
    timeout_s: float = 60.0,
    min_count: int = 0,
    ticks: bool = False,
) -> list[ConsumerRecord[bytes, bytes]]:
    """Read a topic from the beginning until idle (and at least ``min_count`` records);
    tick records (schemas/ticks.py) only with ``ticks``."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        fetch_max_bytes=8 * 1024 * 1024,
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )
    await consumer.start()
    records: list[ConsumerRecord[bytes, bytes]] = []
    try:
        deadline = time.monotonic() + timeout_s
        last = time.monotonic()
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=300)
            for part in batch.values():
                records.extend(r for r in part if ticks or r.key != TICK_KEY)
            if batch:
                last = time.monotonic()
            elif len(records) >= min_count and time.monotonic() - last > idle_s:
                break
        return records
    finally:
        await consumer.stop()


async def collect_alerts(
    bootstrap: str,
    topics: Iterable[str],
    expected_ids: set[str],
    *,
    timeout_s: float = 90.0,
    settle_s: float = 3.0,
) -> list[Alert]:
    """Collect alerts until every expected id arrived (then ``settle_s`` more), or time out."""
    seen: list[Alert] = []
    stop = asyncio.Event()
    complete = asyncio.Event()

    def on_alert(alert: Alert) -> None:
        seen.append(alert)
        if expected_ids <= {a.alert_id for a in seen}:
            complete.set()

    task = asyncio.create_task(
        follow_alerts(bootstrap, list(topics), on_alert, start="beginning", stop=stop)
    )
    if not expected_ids:
        complete.set()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(complete.wait(), timeout_s)
    await asyncio.sleep(settle_s)
    stop.set()
    await task
    return seen


async def all_committed(
    bootstrap: str, group: str, topic: str, partitions: int, timeout_s: float = 180
) -> None:
    """Wait until ``group`` has committed every record of ``topic`` as it is now. The
    worker writes its values back before each commit (streams/agents.py), so after this
    the changelog holds the state of every record — alerts alone may come earlier, e.g.
    all raised before a crash, the state only once the restarted worker has folded again."""
    from bench.workers import committed_offsets

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        end = sum((await consumer.end_offsets(tps)).values())
    finally:
        await consumer.stop()
    deadline = time.monotonic() + timeout_s
    while (done := await committed_offsets(bootstrap, group, topic, partitions)) < end:
        assert time.monotonic() < deadline, f"{done} of {end} records committed"
        await asyncio.sleep(0.5)


async def table_state(bootstrap: str, app_id: str, table: str, min_keys: int) -> dict[str, Any]:
    """Return an aggregate's state per dyad as the worker stored it, ``{dyad: {"state":
    …}}`` like the offline fold's: the ``head[<aggregate>]`` of the latest dyad log per
    key of the timeline changelog (``table`` is ``<aggregate>-state``)."""
    aggregate = table.removesuffix("-state")
    records = await consume(bootstrap, f"{app_id}-timeline-state-changelog", min_count=min_keys)
    logs: dict[str, Any] = {}
    for record in sorted(records, key=lambda r: (r.partition, r.offset)):
        logs[json.loads(record.key)] = json.loads(record.value) if record.value else None
    return {
        dyad: {"state": log["head"][aggregate]}
        for dyad, log in logs.items()
        if not dyad.startswith("~")
        and not is_chunk_key(dyad)  # watermarks, chunks
        and log is not None
        and log["head"] is not None
    }
