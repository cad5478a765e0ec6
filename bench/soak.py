"""``python -m bench soak``: one worker under a steady load for a long time, its memory
sampled as it goes.

``bench memory`` starts a fresh worker for each length of history and reads it once it
has drained; this runs one worker as a live feed does — events offered at a steady rate
for ``--minutes``, in event-time order, on the same pairs — and reads the resident set
of each of its processes (and of the broker this bench started) every ``--every``
seconds, with how far behind the published log the worker's commits are. The closing
line compares the worker's resident set at the end with that after the first quarter of
the run (every pair seen, the lateness long passed): what a worker keeps growing by
while the pairs stay the same (docs/PERFORMANCE.md, "Session 17")."""

from __future__ import annotations

import asyncio
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer

from bench.generate import Shape, generate
from bench.procs import BROKER_PIDS, children, status_mib
from bench.run import BenchOptions, _broker
from bench.workers import PARTITIONS, Worker, committed_offsets, start_worker, stop_worker
from infra.admin import ensure_topics
from infra.clients import send_event
from infra.topics import Topics

__all__ = ["run_soak", "soak_rows", "summary"]


async def soak_rows(
    options: BenchOptions,
    minutes: float,
    rate: float,
    dyads: int,
    years_per_10k: float,
    every_s: float,
) -> list[dict[str, Any]]:
    """Offer ``rate`` events/s for ``minutes`` to one worker; a row every ``every_s``."""
    total = int(rate * minutes * 60)
    years = years_per_10k * total / 10_000
    shape = Shape(total, dyads, years, seed=7)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="dipwatch-soak-") as tmp:
        async with _broker(options, Path(tmp)) as bootstrap:
            topics = Topics(f"soak{uuid.uuid4().hex[:6]}", PARTITIONS)
            await ensure_topics(bootstrap, topics, 1)
            worker = start_worker(bootstrap, topics, Path(tmp))
            producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
            await producer.start()
            try:
                sent = {"events": 0, "at": ""}
                sampler = asyncio.create_task(
                    _sample(bootstrap, topics, worker, sent, every_s, rows, shape)
                )
                await _offer(producer, topics, generate(shape), rate, sent)
                await producer.flush()
                deadline = time.monotonic() + 120
                while time.monotonic() < deadline:  # the worker commits the last records
                    if await committed_offsets(bootstrap, worker.app_id, topics.events) >= total:
                        break
                    await asyncio.sleep(1)
                sampler.cancel()
                rows.append(await _row(bootstrap, topics, worker, sent, shape, final=True))
                print(_line(rows[-1]), flush=True)
            finally:
                await producer.stop()
                stop_worker(worker)
    return rows


async def _offer(
    producer: AIOKafkaProducer, topics: Topics, events: Any, rate: float, sent: dict[str, Any]
) -> None:
    """Send ``events`` at ``rate``/s, a tenth of a second's worth at a time."""
    t0, step = time.monotonic(), max(int(rate / 10), 1)
    batch: list[Any] = []
    for event in events:
        batch.append(event)
        if len(batch) < step:
            continue
        await _send(producer, topics, batch, sent)
        batch = []
        delay = t0 + sent["events"] / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
    if batch:
        await _send(producer, topics, batch, sent)


async def _send(
    producer: AIOKafkaProducer, topics: Topics, batch: list[Any], sent: dict[str, Any]
) -> None:
    for event in batch:
        await send_event(producer, topics.events, event)
    sent["events"] += len(batch)
    sent["at"] = batch[-1].occurred_at.date().isoformat()


async def _sample(
    bootstrap: str,
    topics: Topics,
    worker: Worker,
    sent: dict[str, Any],
    every_s: float,
    rows: list[dict[str, Any]],
    shape: Shape,
) -> None:
    while True:
        await asyncio.sleep(every_s)
        rows.append(await _row(bootstrap, topics, worker, sent, shape))
        print(_line(rows[-1]), flush=True)


async def _row(
    bootstrap: str,
    topics: Topics,
    worker: Worker,
    sent: dict[str, Any],
    shape: Shape,
    final: bool = False,
) -> dict[str, Any]:
    code = worker.proc.poll()
    if code is not None:
        raise RuntimeError(f"the worker exited with {code} (its log: {worker.log_path})")
    committed = await committed_offsets(bootstrap, worker.app_id, topics.events)
    pids = [worker.proc.pid, *children(worker.proc.pid)]
    broker = BROKER_PIDS.get(bootstrap)
    return {
        "minutes": round((time.monotonic() - worker.started) / 60, 1),
        "sent": sent["events"],
        "behind": sent["events"] - committed,
        "event_day": sent["at"],
        "dyads": shape.dyads,
        # Each of the worker's processes: (VmRSS, VmHWM), MiB.
        "processes": [
            (round(status_mib(p, "VmRSS"), 1), round(status_mib(p, "VmHWM"), 1)) for p in pids
        ],
        "broker_mib": round(status_mib(broker, "VmRSS"), 1) if broker else None,
        "final": final,
    }


def _line(row: dict[str, Any]) -> str:
    names = ("Faust's process", "fold process")
    parts = [f"{names[min(i, 1)]} {rss}" for i, (rss, _) in enumerate(row["processes"])]
    broker = f", broker {row['broker_mib']}" if row["broker_mib"] is not None else ""
    return (
        f"{row['minutes']:>6.1f} min {row['sent']:>9,} sent (to {row['event_day']}), "
        f"{row['behind']:,} behind: {'; '.join(parts)}{broker} MiB"
        + (" (drained)" if row["final"] else "")
    )


def summary(rows: list[dict[str, Any]]) -> str:
    """The worker's resident set (its processes summed) at the end of the run against
    that after its first quarter, and its peak."""
    if len(rows) < 2:
        return "soak: too short to compare (fewer than two samples)"
    end = rows[-1]
    quarter = next(r for r in rows if r["minutes"] >= end["minutes"] / 4)
    first, last = (sum(rss for rss, _ in r["processes"]) for r in (quarter, end))
    peak = sum(hwm for _, hwm in end["processes"])
    return (
        f"soak: the worker's resident set {first:.1f} MiB at {quarter['minutes']:g} min "
        f"({quarter['sent']:,} events), {last:.1f} MiB at the end ({end['sent']:,} events, "
        f"{end['dyads']} pairs): {100 * (last - first) / first:+.1f} %; peak {peak:.1f} MiB"
    )


def run_soak(
    options: BenchOptions,
    minutes: float,
    rate: float,
    dyads: int,
    years_per_10k: float,
    every_s: float,
) -> list[dict[str, Any]]:
    """Run the soak, print a row per sample and the summary."""
    rows = asyncio.run(soak_rows(options, minutes, rate, dyads, years_per_10k, every_s))
    print(summary(rows), flush=True)
    return rows
