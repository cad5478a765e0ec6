"""Kafka client factories: every producer and consumer of the project is made here.

One place to give every client the same connection options (and, later, credentials).
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from infra.connection import Connection, as_connection
from infra.topics import DEAD_LETTER_MAX_BYTES
from schemas.codec import encode_event
from schemas.events import DiplomaticEvent
from schemas.ticks import TICK_KEY, tick_value

__all__ = [
    "event_producer",
    "plain_consumer",
    "refresh_metadata",
    "send_event",
    "send_tick",
    "start_offsets",
]


def event_producer(target: Connection | str, *, outage_s: float = 30.0) -> AIOKafkaProducer:
    """Return the producer of events and dead letters (not started).

    acks=all; no idempotence: the embedded broker has no InitProducerId, and dedup by
    event_id in the worker makes a resent record harmless. A batch lives as long as one
    request may take (aiokafka's batch TTL is the request timeout): while it lives the
    producer retries it, one request per broker at a time, so a broker outage shorter
    than ``outage_s`` keeps every dyad's events in order.
    """
    return AIOKafkaProducer(
        **as_connection(target).client_options(),
        acks="all",
        enable_idempotence=False,
        linger_ms=5,
        request_timeout_ms=int(outage_s * 1000),
        max_request_size=DEAD_LETTER_MAX_BYTES,
    )


def plain_consumer(target: Connection | str, *topics: str, **options: Any) -> AIOKafkaConsumer:
    """Return a consumer without a group and without commits (not started): the read
    model's and the alert follower's. ``options`` are aiokafka's."""
    return AIOKafkaConsumer(
        *topics,
        **as_connection(target).client_options(),
        group_id=None,
        enable_auto_commit=False,
        **options,
    )


async def start_offsets(
    target: Connection | str, group: str, topic: str, partitions: int
) -> dict[int, int]:
    """Where ``group``'s members start reading each partition of ``topic`` once assigned:
    the offset it committed, or the log's start if it committed none or the log no longer
    holds it (``auto_offset_reset`` is ``earliest``). A consumer that joins no group."""
    consumer = AIOKafkaConsumer(
        **as_connection(target).client_options(), group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        starts = await consumer.beginning_offsets(tps)
        out: dict[int, int] = {}
        for tp in tps:
            committed = await consumer.committed(tp)
            out[tp.partition] = max(committed or 0, starts[tp])
        return out
    finally:
        await consumer.stop()


async def send_event(
    producer: AIOKafkaProducer, topic: str, event: DiplomaticEvent
) -> asyncio.Future[Any]:
    """Queue one event: key = dyad, record timestamp = occurred_at; return its ack future."""
    future: asyncio.Future[Any] = await producer.send(
        topic,
        key=event.dyad.encode(),
        value=encode_event(event),
        timestamp_ms=int(event.occurred_at.timestamp() * 1000),
    )
    return future


async def send_tick(producer: AIOKafkaProducer, topic: str, at: datetime) -> None:
    """Tell every partition of ``topic`` that event time has reached ``at`` (a tick
    record, schemas/ticks.py): the timers due by then fire in quiet dyads too."""
    for partition in sorted(await producer.partitions_for(topic)):
        await producer.send_and_wait(
            topic,
            key=TICK_KEY,
            value=tick_value(at),
            partition=partition,
            timestamp_ms=int(at.timestamp() * 1000),
        )


async def refresh_metadata(consumer: AIOKafkaConsumer) -> None:
    """Fetch the cluster metadata now, so a topic created a moment ago has partitions.

    aiokafka has no public call for this (``topics()`` fetches metadata into a copy that
    ``partitions_for_topic`` does not read), so this is the one place that reaches into
    its client; ``tests/unit/test_dependency_seams.py`` fails if aiokafka changes it.
    """
    await consumer._client.force_metadata_update()
