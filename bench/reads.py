"""``python -m bench reads``: what a live read costs the broker as its topic fills.

A consumer follows a topic (fetch wait 10 ms, the latency rows' setting) while a producer
offers records at a steady rate; the broker's share of a core is read from /proc over
that window. Then the topic is filled with more records, and the same is timed again.
On the embedded broker (Tansu's memory engine) the share grew with the records the read
partitions hold — at the same load — where Apache Kafka's index keeps a read's cost flat:
a worker that has run for a while, or a latency row that follows a heavier one, is
served by a slower broker (docs/PERFORMANCE.md, "Session 25").
"""

from __future__ import annotations

import asyncio
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from bench.procs import BROKER_PIDS, cpu_seconds
from bench.run import BenchOptions, _broker
from bench.workers import PARTITIONS
from infra.admin import ensure_topics
from infra.topics import TopicSpec

__all__ = ["run_reads"]

_VALUE = b"r" * 500  # about a synthetic event's size


async def _followed(bootstrap: str, topic: str, rate: float, seconds: float) -> dict[str, Any]:
    """The broker's share of a core while ``rate`` records/s are produced to ``topic`` and
    read back by a consumer that follows it, and how many of them it read."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, fetch_max_wait_ms=10, auto_offset_reset="latest"
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=1)
    await consumer.start()
    await producer.start()
    read = 0

    async def follow() -> None:
        nonlocal read
        while True:
            for records in (await consumer.getmany(timeout_ms=100)).values():
                # (Tansu's end offset is the start of the last batch + 1: a follower
                # may read the rest of the fill's last batch; only these are counted.)
                read += sum(1 for r in records if r.key is not None and r.key[:1] == b"w")

    try:
        while not consumer.assignment():
            await consumer.getmany(timeout_ms=100)
        await consumer.seek_to_end()
        reader = asyncio.create_task(follow())
        broker = BROKER_PIDS[bootstrap]
        cpu0, t0 = cpu_seconds(broker), time.perf_counter()
        for i in range(int(rate * seconds)):
            await asyncio.sleep(max(0.0, t0 + i / rate - time.perf_counter()))
            await producer.send(topic, key=b"w%d" % (i % 100), value=_VALUE)
        await producer.flush()
        share = (cpu_seconds(broker) - cpu0) / (time.perf_counter() - t0) * 100
        offered, deadline = int(rate * seconds), time.perf_counter() + 10
        while read < offered and time.perf_counter() < deadline:  # noqa: ASYNC110 - last fetches
            await asyncio.sleep(0.05)
        reader.cancel()
    finally:
        await producer.stop()
        await consumer.stop()
    return {"broker_cpu_pct": round(share, 1), "read": read, "offered": offered}


async def _fill(bootstrap: str, topic: str, records: int) -> None:
    """Add ``records`` to ``topic``, 50 at a time (small batches, as a live feed writes)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=1)
    await producer.start()
    try:
        for start in range(0, records, 50):
            sent = [
                await producer.send(topic, key=b"f%d" % (i % 100), value=_VALUE)
                for i in range(start, min(start + 50, records))
            ]
            await asyncio.gather(*sent)
    finally:
        await producer.stop()


async def _rows(
    options: BenchOptions, steps: list[int], rate: float, seconds: float
) -> list[dict[str, Any]]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="dipwatch-reads-") as tmp:
        async with _broker(options, Path(tmp)) as bootstrap:
            if bootstrap not in BROKER_PIDS:
                raise SystemExit("bench reads: needs a broker it starts (its CPU is read)")
            topic = f"bench-reads-{uuid.uuid4().hex[:8]}"
            await ensure_topics(bootstrap, [TopicSpec(topic, "str", "bytes", PARTITIONS)])
            held = 0  # records in the topic: the fills' and the timed windows'
            for step in steps:
                await _fill(bootstrap, topic, max(0, step - held))
                held = max(step, held)
                row = {
                    "held": held,
                    "rate": rate,
                    **await _followed(bootstrap, topic, rate, seconds),
                }
                held += row["offered"]
                rows.append(row)
                print(_line(row), flush=True)
    return rows


def _line(row: dict[str, Any]) -> str:
    return (
        f"topic holding {row['held']:>7,} records ({PARTITIONS} partitions): broker "
        f"{row['broker_cpu_pct']:5.1f} % of a core while {row['rate']:g} records/s are "
        f"written and read ({row['read']}/{row['offered']} read)"
    )


def run_reads(
    options: BenchOptions, steps: list[int], rate: float, seconds: float
) -> list[dict[str, Any]]:
    """Print a row per topic size in ``steps`` (records held before the timed window)."""
    return asyncio.run(_rows(options, steps, rate, seconds))
