"""Publish validated events to the events topic, in event-time order."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from infra.admin import ensure_topics
from infra.brokers.probe import wait_until_ready
from infra.clients import event_producer, send_event, send_tick
from infra.connection import Connection, as_connection
from infra.logs import get_logger
from infra.settings import Settings
from infra.topics import REASON_HEADER, Topics
from replay.loader import Loaded, Problem
from schemas.errors import ReplayAborted

__all__ = ["Speed", "publish_dead_letters", "publish_events", "publish_log"]

log = get_logger(__name__)

#: ``None`` = as fast as possible; otherwise a factor of real time.
Speed = float | None
_CHUNK = 500


async def publish_events(
    target: Connection | str,
    topic: str,
    events: Sequence[Loaded],
    *,
    speed: Speed = None,
    on_progress: Callable[[int], None] | None = None,
    max_outage_s: float = 120.0,
    tick: bool = True,
) -> int:
    """Publish ``events`` (already sorted); key = dyad, timestamp = occurred_at; then,
    with ``tick``, a tick record at the latest event time to every partition, so every
    partition's watermark reaches it and the timers due by then fire in quiet dyads too.

    A broker that goes away is waited for, up to ``max_outage_s``: before the first
    record, by reconnecting; after it, by the producer, which retries the pending batches
    in order (a resend from here could land a dyad's events after later ones). Past
    that, :class:`ReplayAborted` says how far it got and how to resume.
    """
    done = 0
    producer = await _connect(as_connection(target), max_outage_s)
    try:
        while done < len(events):
            chunk = events[done : done + _CHUNK]
            futures = []
            try:
                for i, item in enumerate(chunk):
                    index = done + i
                    if speed is not None and index > 0:
                        gap = item.event.occurred_at - events[index - 1].event.occurred_at
                        await asyncio.sleep(gap.total_seconds() / speed)
                    futures.append(await send_event(producer, topic, item.event))
                for future in futures:
                    await future
                    done += 1
                    if on_progress:
                        on_progress(1)
            except (KafkaError, OSError) as exc:
                raise _aborted(events, done, exc) from None
        if tick and events:
            await send_tick(producer, topic, max(i.event.occurred_at for i in events))
    finally:
        await _close(producer)
    return done


async def _connect(target: Connection, max_outage_s: float) -> AIOKafkaProducer:
    """A started producer, retrying with backoff for up to ``max_outage_s``."""
    deadline = time.monotonic() + max_outage_s
    backoff = 0.5
    while True:
        producer = event_producer(target, outage_s=max_outage_s)
        try:
            await producer.start()
            return producer
        except (KafkaError, OSError) as exc:
            await _close(producer)
            if time.monotonic() > deadline:
                raise ReplayAborted(
                    f"no broker at {target.bootstrap} for {max_outage_s:.0f} s ({exc})"
                ) from None
            log.warning("broker_unavailable_retrying", bootstrap=target.bootstrap, error=str(exc))
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)


def _aborted(events: Sequence[Loaded], done: int, exc: BaseException) -> ReplayAborted:
    nxt = events[done].event
    return ReplayAborted(
        f"broker failed after {done} of {len(events)} events were acknowledged ({exc}); "
        f"the next was {nxt.event_id} at {nxt.occurred_at.isoformat()}. Resume with "
        f"`dipwatch replay ... --since {nxt.occurred_at.isoformat()}`: events sent "
        "twice are counted once."
    )


async def _close(producer: AIOKafkaProducer | None) -> None:
    if producer is not None:
        with contextlib.suppress(KafkaError, OSError, TimeoutError):
            await asyncio.wait_for(producer.stop(), 10)


async def publish_dead_letters(
    target: Connection | str, topic: str, problems: Sequence[Problem]
) -> int:
    """Send invalid lines, as their original bytes, to the dead-letter topic."""
    producer = event_producer(target)
    await producer.start()
    try:
        for problem in problems:
            await producer.send_and_wait(
                topic, value=problem.raw, headers=[(REASON_HEADER, str(problem).encode())]
            )
    finally:
        await producer.stop()
    return len(problems)


async def publish_log(
    settings: Settings,
    events: Sequence[Loaded],
    problems: Sequence[Problem],
    *,
    speed: Speed = None,
    ready: bool = False,
    on_progress: Callable[[int], None] | None = None,
) -> int:
    """What ``replay`` and ``ingest`` do to publish: wait for the broker and make the
    topics (unless ``ready``: done already), send ``problems`` to the dead-letter topic,
    then ``events`` to the events topic (with the closing ticks). Returns the events sent."""
    connection = Connection.from_settings(settings)
    topics = Topics.from_settings(settings)
    if not ready:
        await wait_until_ready(connection, settings.connect_timeout_s)
        await ensure_topics(connection, topics, settings.replication_factor)
    if problems:
        sent = await publish_dead_letters(connection, topics.dead_letter, problems)
        log.warning("invalid_records_dead_lettered", count=sent, topic=topics.dead_letter)
    return await publish_events(
        connection, topics.events, events, speed=speed, on_progress=on_progress
    )
