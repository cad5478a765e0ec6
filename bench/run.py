"""``python -m bench all``: publish, worker, Faust-ceiling and raw-consume rates, latency, memory.

Each phase talks to a real broker (the embedded one or Apache Kafka, started here) and
a real worker process — the same ``dipwatch worker`` users run. Figures are rates and
ratios within one run: these machines are noisy, so compare within a run. The worker,
ceiling and two-worker drains run in rounds, each ratio taken within its round
(bench/rounds.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import platform
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from aiokafka import AIOKafkaConsumer

from bench.generate import Shape, dyads, generate
from bench.latency import latency_probe
from bench.machine import calibration_ms
from bench.procs import BROKER_PIDS, broker_rss_mb, cpu_of, rss_mb
from bench.report import render
from bench.rounds import KINDS, by_kind, order, summarise
from bench.workers import (
    CEILING,
    PARTITIONS,
    Worker,
    drain,
    start_worker,
    stop_worker,
)
from folds.parallel import cores
from infra.admin import ensure_topics
from infra.brokers.probe import wait_until_ready
from infra.brokers.tansu import EmbeddedBroker, free_port
from infra.topics import Topics
from replay.loader import Loaded
from replay.publish import publish_events
from schemas.events import DiplomaticEvent

__all__ = ["BenchOptions", "run_bench"]

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class BenchOptions:
    """What to measure, on which broker, at which sizes."""

    broker: Literal["embedded", "kafka"] = "embedded"
    bootstrap: str | None = None
    shape: Shape = field(default_factory=Shape)
    rate: float = 1000.0
    latency_seconds: float = 20.0
    growth: bool = True
    #: Also time two workers in one group on the topic against the one.
    scale_out: bool = True
    #: Rounds of (b), (f), (f2), (g) drained in turn (bench/rounds.py): medians reported.
    rounds: int = 3
    json_path: Path | None = None


@asynccontextmanager
async def _broker(options: BenchOptions, workdir: Path) -> AsyncIterator[str]:
    if options.bootstrap:
        await wait_until_ready(options.bootstrap, 30)
        yield options.bootstrap
        return
    if options.broker == "embedded":
        embedded = EmbeddedBroker()
        address = await embedded.start()
        if embedded.pid is not None:
            BROKER_PIDS[address] = embedded.pid
        try:
            yield address
        finally:
            await embedded.stop()
        return
    port = free_port()
    log = (workdir / "kafka.log").open("wb")
    proc = subprocess.Popen(  # noqa: ASYNC220 - starts the broker, does not wait for it
        [str(ROOT / "scripts/apache-kafka.sh"), "run", str(workdir / "kafka"), str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        address = f"127.0.0.1:{port}"
        BROKER_PIDS[address] = proc.pid  # the script execs the JVM
        await wait_until_ready(address, 180)
        yield address
    finally:
        proc.terminate()
        proc.wait(60)
        log.close()


async def _publish(bootstrap: str, topics: Topics, events: list[DiplomaticEvent]) -> float:
    await ensure_topics(bootstrap, topics, 1)
    loaded = [Loaded(event=e, path="bench", line=i) for i, e in enumerate(events)]
    t0 = time.perf_counter()
    await publish_events(bootstrap, topics.events, loaded)
    return len(events) / (time.perf_counter() - t0)


async def _raw_consume(bootstrap: str, topic: str, count: int) -> float:
    """Read the topic with aiokafka alone, with the worker's fetch size; events/s."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_partition_fetch_bytes=1024 * 1024,  # faust's consumer_max_fetch_size
    )
    await consumer.start()
    try:
        # Timed from the first fetch asked, not from the first batch received: that
        # batch (4 partitions of up to 1 MiB: ~8,900 synthetic events) was not counted
        # against any time, a fifth of a 50,000-event topic, all of a 5,000-event one.
        seen, t0 = 0, time.perf_counter()
        while seen < count:
            batch = await consumer.getmany(timeout_ms=1000)
            seen += sum(len(records) for records in batch.values())
        return count / (time.perf_counter() - t0)
    finally:
        await consumer.stop()


async def _ceiling_rate(
    bootstrap: str, topics: Topics, workdir: Path, count: int, module: tuple[str, ...]
) -> dict[str, float]:
    """A Faust null worker (bench/ceiling.py) on the full topic, in its own group."""
    ceiling = start_worker(bootstrap, topics, workdir, module=module)
    try:
        return await drain(bootstrap, topics, ceiling, count, (ceiling.proc.pid,))
    finally:
        stop_worker(ceiling)


async def _pair_rate(bootstrap: str, topics: Topics, workdir: Path, count: int) -> dict[str, float]:
    """Two workers in one new group, started together on the full topic; events/s from
    the group's first commit to its last (their join and split included)."""
    app_id = f"bench-{uuid.uuid4().hex[:8]}"
    pair = [start_worker(bootstrap, topics, workdir, app_id=app_id) for _ in range(2)]
    try:
        return await drain(bootstrap, topics, pair[0], count, [w.proc.pid for w in pair])
    finally:
        for worker in pair:
            stop_worker(worker)


async def _worker_run(
    bootstrap: str,
    shape: Shape,
    workdir: Path,
    tag: str,
    extra_env: dict[str, str] | None = None,
) -> tuple[dict[str, float], Worker, Topics, list[DiplomaticEvent]]:
    topics = Topics(f"bench{tag}{uuid.uuid4().hex[:6]}", PARTITIONS)
    events = list(generate(shape))
    publish_eps = await _publish(bootstrap, topics, events)
    worker = start_worker(bootstrap, topics, workdir, extra_env)
    drained = await drain(bootstrap, topics, worker, len(events))
    figures = {"publish_eps": publish_eps, **drained, "peak_rss_mb": rss_mb(worker.proc.pid)}
    return figures, worker, topics, events


async def _rounds(
    options: BenchOptions, bootstrap: str, topics: Topics, workdir: Path, count: int
) -> tuple[list[dict[str, float]], Worker, float | None]:
    """(b), (f), (f2) and (g) drained ``options.rounds`` times on the topic (bench/rounds.py);
    return each round's rates, the last worker (left running) and the broker's RSS after
    the first round."""
    kinds = KINDS if options.scale_out else KINDS[:3]
    modules = {"ceiling": CEILING, "ceiling_writes": (*CEILING, "--writes")}
    rounds: list[dict[str, float]] = []
    kept: Worker | None = None
    broker_after: float | None = None
    for number in range(options.rounds):
        rates = {"calibration_ms": calibration_ms()}
        for kind in order(number, options.rounds, kinds):
            if kind == "worker":
                worker = start_worker(bootstrap, topics, workdir)
                drained = await drain(bootstrap, topics, worker, count, (worker.proc.pid,))
                if number < options.rounds - 1:
                    stop_worker(worker)
                else:
                    kept = worker  # the last drain of the last round: kept for the probe
            elif kind == "two_workers":
                drained = await _pair_rate(bootstrap, topics, workdir, count)
            else:
                drained = await _ceiling_rate(bootstrap, topics, workdir, count, modules[kind])
            rates[kind] = drained.pop("worker_eps")
            rates |= {f"{kind}.{k}": v for k, v in drained.items()}
        rounds.append(rates)
        if number == 0:
            broker_after = broker_rss_mb(bootstrap)
    assert kept is not None
    return rounds, kept, broker_after


async def _bench(options: BenchOptions) -> dict[str, Any]:
    shape = options.shape
    with tempfile.TemporaryDirectory(prefix="dipwatch-bench-") as tmp:
        workdir = Path(tmp)
        async with _broker(options, workdir) as bootstrap:
            broker_before = broker_rss_mb(bootstrap)
            topics = Topics(f"benchm{uuid.uuid4().hex[:6]}", PARTITIONS)
            events = list(generate(shape))
            publish_eps = await _publish(bootstrap, topics, events)
            rounds, worker, broker_after = await _rounds(
                options, bootstrap, topics, workdir, len(events)
            )
            try:
                latency = await latency_probe(
                    bootstrap,
                    topics,
                    dyads(min(shape.dyads, 500), shape.seed + 1),
                    options.rate,
                    options.latency_seconds,
                    shape.end + timedelta(days=1),  # after every generated event
                    others=cpu_of(bootstrap, worker.proc.pid),
                )
                latency.pop("trace")  # (``bench latency --trace`` keeps it)
                peak_rss_mb = rss_mb(worker.proc.pid)
            finally:
                stop_worker(worker)
            raw_eps = await _raw_consume(bootstrap, topics.events, len(events))
            growth = []
            if options.growth:
                n, d = max(shape.events // 4, 1000), max(shape.dyads // 2, 10)
                years = shape.years * n / shape.events  # the same event rate per year
                for label, sub in (
                    ("base", Shape(n, d, years, shape.zipf, shape.seed)),
                    ("2x events, same rate", Shape(2 * n, d, 2 * years, shape.zipf, shape.seed)),
                    # Past the dedup horizon (2 y) the digests stop growing with history.
                    ("4x events, same rate", Shape(4 * n, d, 4 * years, shape.zipf, shape.seed)),
                    ("2x dyads", Shape(n, 2 * d, years, shape.zipf, shape.seed)),
                ):
                    figs, w, _, _ = await _worker_run(bootstrap, sub, workdir, "g")
                    stop_worker(w)
                    growth.append(
                        {
                            "run": label,
                            "events": sub.events,
                            "dyads": sub.dyads,
                            "years": round(sub.years, 2),
                            "peak_rss_mb": round(figs["peak_rss_mb"], 1),
                        }
                    )
    rated = summarise(rounds)
    median = rated["median"]
    return {
        "broker": options.bootstrap or options.broker,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}, "
        f"calibration loop {calibration_ms():.2f} ms at the end (bench/machine.py)",
        "events": shape.events,
        "dyads": shape.dyads,
        "years": shape.years,
        "publish_eps": round(publish_eps),
        "worker_eps": round(median["worker"]),
        "raw_consume_eps": round(raw_eps),
        "ratio": round(median["worker"] / raw_eps, 4),
        "ceiling_eps": round(median["ceiling"]),
        "two_workers_eps": round(median["two_workers"]) if options.scale_out else None,
        "two_workers_ratio": round(median["two_workers_ratio"], 2) if options.scale_out else None,
        "ceiling_ratio": round(median["ceiling_ratio"], 3),
        "ceiling_writes_eps": round(median["ceiling_writes"]),
        "ceiling_writes_ratio": round(median["ceiling_writes_ratio"], 3),
        "worker_startup_s": round(median["worker.startup_s"], 1),
        "cpu_us": by_kind(median, "cpu_us"),
        "processes": by_kind(median, "processes", None),
        "cores": cores(),  # (the cores this process may run on)
        "rounds": [{k: round(v, 3) for k, v in r.items()} for r in rated["rounds"]],
        "latency_ms": latency,
        "peak_rss_mb": round(peak_rss_mb, 1),
        "broker_rss_mb": {"before": broker_before, "after_worker": broker_after},
        "growth": growth,
    }


def run_bench(options: BenchOptions) -> dict[str, Any]:
    """Run every phase; print the table; write the JSON summary if asked."""
    # The offset probes poll a group before its coordinator exists; aiokafka logs that
    # expected wait as an error on every poll.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    summary = asyncio.run(_bench(options))
    print(render(summary))
    if options.json_path:
        options.json_path.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary
