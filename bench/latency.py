"""Publish-to-alert latency at an offered load: summonses sent at a rate, each timed
from its send to its alert's arrival (``python -m bench all``)."""

from __future__ import annotations

import asyncio
import json
import statistics
import time
import uuid
from datetime import datetime, timedelta

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from infra.topics import Topics
from schemas.codec import encode_event
from schemas.events import DiplomaticEvent

__all__ = ["latency_probe"]


async def latency_probe(
    bootstrap: str,
    topics: Topics,
    pairs: list[tuple[str, str]],
    rate: float,
    seconds: float,
    base: datetime,
    fetch_wait_ms: int = 10,
) -> dict[str, float]:
    """Offer summonses at ``rate``/s; time each one's alert from send to receipt. The
    alert reader's own fetch wait is short (aiokafka's default 500 ms would add up to
    250 ms on the embedded broker, which sleeps half the remaining wait)."""
    consumer = AIOKafkaConsumer(
        topics.alerts("summons"),
        bootstrap_servers=bootstrap,
        auto_offset_reset="latest",
        fetch_max_wait_ms=fetch_wait_ms,
    )
    await consumer.start()
    while not consumer.assignment():
        await consumer.getmany(timeout_ms=200)
    await consumer.seek_to_end()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=1)
    await producer.start()
    sent: dict[str, float] = {}
    got: dict[str, float] = {}
    total = int(rate * seconds)

    async def receive() -> None:
        while True:
            batch = await consumer.getmany(timeout_ms=200)
            now = time.perf_counter()
            for records in batch.values():
                for record in records:
                    for event_id in json.loads(record.value)["evidence"]:
                        if event_id in sent and event_id not in got:
                            got[event_id] = now

    reader = asyncio.create_task(receive())
    t0 = time.perf_counter()
    for i in range(total):
        target_t = t0 + i / rate
        delay = target_t - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        event = _probe_summons(pairs[i % len(pairs)], base + timedelta(milliseconds=i))
        sent[event.event_id] = time.perf_counter()
        await producer.send(
            topics.events,
            key=event.dyad.encode(),
            value=encode_event(event),
            timestamp_ms=int(event.occurred_at.timestamp() * 1000),
        )
    await producer.flush()
    deadline = time.perf_counter() + 60
    while len(got) < len(sent) and time.perf_counter() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.2)
    reader.cancel()
    await producer.stop()
    await consumer.stop()
    return _quantiles(rate, sent, got)


def _probe_summons(pair: tuple[str, str], at: datetime) -> DiplomaticEvent:
    """A summons from ``pair[0]`` of ``pair[1]``'s envoy at ``at``: raises one alert."""
    a, b = pair
    return DiplomaticEvent.model_validate(
        {
            "event_id": f"lat-{uuid.uuid4().hex[:12]}",
            "occurred_at": at.isoformat(),
            "date_precision": "day",
            "recorded_at": (at + timedelta(days=1)).isoformat(),
            "actor": {"country": a, "kind": "foreign_ministry"},
            "target": {"country": b, "kind": "envoy"},
            "action": "summon_envoy",
            "cameo": "110",
            "envoy": {"sending_country": b, "host_country": a},
            "summary": "Synthetic summons for the latency probe.",
            "sources": [{"publisher": "dipwatch bench", "title": "latency", "language": "en"}],
        }
    )


def _quantiles(rate: float, sent: dict[str, float], got: dict[str, float]) -> dict[str, float]:
    lat = sorted((got[k] - sent[k]) * 1000 for k in got)
    q = statistics.quantiles(lat, n=100) if len(lat) >= 2 else [float("nan")] * 99
    return {
        "offered_eps": rate,
        "sent": len(sent),
        "alerted": len(got),
        "p50": round(q[49], 1),
        "p95": round(q[94], 1),
        "p99": round(q[98], 1),
    }
