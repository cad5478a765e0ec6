"""Publish validated events to the events topic, in event-time order."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from dipwatch.topics import REASON_HEADER
from replay.loader import Loaded, Problem
from schemas.codec import encode_event
from schemas.errors import ReplayAborted

__all__ = ["Speed", "publish_dead_letters", "publish_events"]

#: ``None`` = as fast as possible; otherwise a factor of real time.
Speed = float | None
_CHUNK = 500


def _producer(bootstrap: str) -> AIOKafkaProducer:
    # acks=all; no idempotence: the embedded broker has no InitProducerId, and
    # dedup by event_id in the worker makes a resent record harmless.
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=False,
        linger_ms=5,
        request_timeout_ms=30_000,
        max_request_size=2 * 1024 * 1024,
    )


async def publish_events(
    bootstrap: str,
    topic: str,
    events: Sequence[Loaded],
    *,
    speed: Speed = None,
    on_progress: Callable[[int], None] | None = None,
) -> int:
    """Publish ``events`` (already sorted); key = dyad, timestamp = occurred_at.

    Raise :class:`ReplayAborted` saying how far it got and how to resume.
    """
    producer = _producer(bootstrap)
    try:
        await producer.start()
    except KafkaError as exc:
        raise ReplayAborted(f"cannot connect to {bootstrap}: {exc}; nothing published") from None
    done = 0
    try:
        for start in range(0, len(events), _CHUNK):
            chunk = events[start : start + _CHUNK]
            futures = []
            for i, item in enumerate(chunk):
                if speed is not None and (start + i) > 0:
                    gap = item.event.occurred_at - events[start + i - 1].event.occurred_at
                    await asyncio.sleep(gap.total_seconds() / speed)
                futures.append(
                    await producer.send(
                        topic,
                        key=item.event.dyad.encode(),
                        value=encode_event(item.event),
                        timestamp_ms=int(item.event.occurred_at.timestamp() * 1000),
                    )
                )
            for future in futures:
                await future
                done += 1
                if on_progress:
                    on_progress(1)
    except (KafkaError, OSError) as exc:
        nxt = events[done].event
        raise ReplayAborted(
            f"broker failed after {done} of {len(events)} events were acknowledged ({exc}); "
            f"the next was {nxt.event_id} at {nxt.occurred_at.isoformat()}. Resume with "
            f"`dipwatch replay ... --since {nxt.occurred_at.isoformat()}`: events sent "
            "twice are counted once."
        ) from None
    finally:
        with contextlib.suppress(KafkaError, TimeoutError):
            await asyncio.wait_for(producer.stop(), 10)
    return done


async def publish_dead_letters(bootstrap: str, topic: str, problems: Sequence[Problem]) -> int:
    """Send invalid lines, as their original bytes, to the dead-letter topic."""
    producer = _producer(bootstrap)
    await producer.start()
    try:
        for problem in problems:
            await producer.send_and_wait(
                topic, value=problem.raw, headers=[(REASON_HEADER, str(problem).encode())]
            )
    finally:
        await producer.stop()
    return len(problems)
