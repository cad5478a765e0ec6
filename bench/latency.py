"""Publish-to-alert latency at an offered load: summonses and their closes sent at a
rate, each timed from its send to its alert's arrival (``python -m bench all``).

Each pair is summoned, then its summons closed, then summoned again, and so on; event
time moves :data:`STEP` per record. So a pair's state stays the size a real pair's has
(one open case, a handful of standing alerts within the lateness) however long the
probe runs. (A first version put every summons within seconds of event time: after 15 s
at 1,000/s each pair held 150 open cases and ~300 standing alerts, a state no real pair
reaches, and the figures measured that growth, not the engine's latency.)"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from bench.generate import dyads
from infra.runtime import freeze_startup
from infra.topics import Topics
from schemas.codec import encode_event
from schemas.events import DiplomaticEvent

__all__ = ["STEP", "kept_pace", "latency_probe", "probe_pairs", "probe_record"]

#: Event time between two probe records.
STEP = timedelta(hours=1)


def probe_pairs() -> list[tuple[str, str]]:
    """The pairs the probe summons in turn (``bench latency``, ``bench offline``'s probe row)."""
    return dyads(100, 12)


async def latency_probe(
    bootstrap: str,
    topics: Topics,
    pairs: list[tuple[str, str]],
    rate: float,
    seconds: float,
    base: datetime,
    fetch_wait_ms: int = 10,
    others: Callable[[], dict[str, float]] | None = None,
) -> dict[str, Any]:
    """Offer summonses and closes at ``rate``/s from ``base`` on in event time; time
    each one's alert from send to receipt. The figures carry ``probe_cpu_pct``, the
    share of a core the probe took while sending, ``cpu_pct``, the same share of each
    process ``others`` reads the CPU seconds of (the worker, its fold process, the
    broker: bench/procs.py), and ``until``, where the probe left
    event time (a later probe on the same topics starts after it). The alert
    reader's own fetch wait is short (aiokafka's default 500 ms would add up to 250 ms
    on the embedded broker, which sleeps half the remaining wait)."""
    # Every record is built before the clock starts: the probe offers the load, and the
    # CPU it would spend validating and encoding ~80 us a record would be taken from the
    # worker and the broker it measures (they share the machine's cores).
    total = int(rate * seconds)
    planned = [probe_record(pairs, base, i) for i in range(total)]
    # Nor may the probe's own full collections delay the receipts it times: they walked
    # this process's imports and records (62-128 ms each here), now frozen out of them.
    freeze_startup()
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

    async def receive() -> None:
        while True:
            batch = await consumer.getmany(timeout_ms=200)
            now = time.perf_counter()
            for records in batch.values():
                for record in records:
                    for event_id in orjson.loads(record.value)["evidence"]:
                        if event_id in sent and event_id not in got:
                            got[event_id] = now

    reader = asyncio.create_task(receive())
    first_ms = await _first_alone(producer, topics.events, planned[0], sent, got)
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    others0 = others() if others is not None else {}
    for i, (event_id, key, value, timestamp_ms) in enumerate(planned[1:]):
        target_t = t0 + i / rate
        delay = target_t - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        sent[event_id] = time.perf_counter()
        await producer.send(topics.events, key=key, value=value, timestamp_ms=timestamp_ms)
    await producer.flush()
    # The share of a core the probe itself took while offering the load (this process
    # only: the broker and the worker are others), taken from what the worker could use.
    elapsed = time.perf_counter() - t0
    cpu_pct = round((time.process_time() - cpu0) / elapsed * 100, 1)
    others1 = others() if others is not None else {}
    shares = {
        k: round((others1[k] - v) / elapsed * 100, 1) for k, v in others0.items() if k in others1
    }
    deadline = time.perf_counter() + 60
    while len(got) < len(sent) and time.perf_counter() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.2)
    reader.cancel()
    await producer.stop()
    await consumer.stop()
    trace = sorted((round(sent[k] - t0, 4), round((got[k] - sent[k]) * 1000, 2)) for k in got)
    return {
        **_quantiles(rate, sent, got),
        **kept_pace(rate, trace),
        # Each alert's latency beside when its record was sent: what the quantiles do not
        # say, e.g. slow alerts every 0.25 s, the caught-up commit's write-back (session 19).
        "trace": trace,
        "first_ms": first_ms,
        "probe_cpu_pct": cpu_pct,
        "cpu_pct": shares,
        "until": (base + STEP * total).isoformat(),
    }


async def _first_alone(
    producer: AIOKafkaProducer,
    topic: str,
    record: tuple[str, bytes, bytes, int],
    sent: dict[str, float],
    got: dict[str, float],
) -> float:
    """Send the probe's first record alone and wait for its alert: its way through the
    broker, the worker and back to the reader is then set up (in a third of the runs
    it took ~200 ms the first time, holding up the twenty alerts behind it). Return its
    latency, ms (reported apart: a steady load is what the quantiles describe)."""
    event_id, key, value, timestamp_ms = record
    sent[event_id] = time.perf_counter()
    await producer.send(topic, key=key, value=value, timestamp_ms=timestamp_ms)
    deadline = sent[event_id] + 60
    while event_id not in got and time.perf_counter() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.001)
    first = got.pop(event_id, float("nan")) - sent.pop(event_id)
    return round(first * 1000, 1)


def probe_record(
    pairs: list[tuple[str, str]], base: datetime, i: int
) -> tuple[str, bytes, bytes, int]:
    """The ``i``-th record the probe sends: (event id, key, value, timestamp in ms)."""
    closing = (i // len(pairs)) % 2 == 1
    event = _probe_event(pairs[i % len(pairs)], base + STEP * i, closing)
    at_ms = int(event.occurred_at.timestamp() * 1000)
    return event.event_id, event.dyad.encode(), encode_event(event), at_ms


def _probe_event(pair: tuple[str, str], at: datetime, closing: bool) -> DiplomaticEvent:
    """``pair[0]`` summons ``pair[1]``'s envoy at ``at``, or closes that summons: either
    raises one summons alert (opened or closed) that names the record."""
    a, b = pair
    action, cameo = ("summons_closed", "010") if closing else ("summon_envoy", "110")
    return DiplomaticEvent.model_validate(
        {
            "event_id": f"lat-{uuid.uuid4().hex[:12]}",
            "occurred_at": at.isoformat(),
            "date_precision": "day",
            "recorded_at": (at + timedelta(days=1)).isoformat(),
            "actor": {"country": a, "kind": "foreign_ministry"},
            "target": {"country": b, "kind": "envoy"},
            "action": action,
            "cameo": cameo,
            "envoy": {"sending_country": b, "host_country": a},
            "summary": f"Synthetic {action} for the latency probe.",
            "sources": [{"publisher": "dipwatch bench", "title": "latency", "language": "en"}],
        }
    )


def kept_pace(rate: float, trace: list[tuple[float, float]]) -> dict[str, float]:
    """How fast the worker folded while the probe offered ``rate``/s: the latency's growth,
    ms per second of sending (least squares over ``trace``, (send time s, latency ms)),
    and the rate that growth means. A worker that keeps up holds the latency level
    (growth ~0, the rate offered); one that folds ``r``/s < ``rate`` folds the record
    sent at ``t`` at ``t * rate / r``, so the latency grows ``rate / r - 1`` s per s.
    A stall near either end of the probe tilts the line too: read it beside the trace."""
    if len(trace) < 2:
        return {"growth_ms_per_s": float("nan"), "kept_pace_eps": float("nan")}
    xs = [t for t, _ in trace]
    slope = statistics.linear_regression(xs, [ms for _, ms in trace]).slope
    return {
        "growth_ms_per_s": round(slope, 1),
        "kept_pace_eps": round(min(rate, rate / (1 + max(slope, 0.0) / 1000))),
    }


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
        # The longest wait: a stall of a process (a full collection, a commit) shows here
        # before it moves the p99, which it does only if it holds up 1 % of the alerts.
        "max": round(lat[-1], 1) if lat else float("nan"),
    }
