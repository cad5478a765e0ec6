"""``python -m bench all``: publish, worker, Faust-ceiling and raw-consume rates, latency, memory.

Each phase talks to a real broker (the embedded one or Apache Kafka, started here) and
a real worker process — the same ``dipwatch worker`` users run. Figures are rates and
ratios within one run: these machines are noisy, so compare within a run.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Final, Literal

from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.generate import Shape, dyads, generate
from bench.latency import latency_probe
from bench.machine import calibration_ms
from bench.procs import BROKER_PIDS, broker_rss_mb, cpu_of, rss_mb
from bench.report import render
from bench.rounds import KINDS, order, summarise
from infra.admin import ensure_topics
from infra.brokers.probe import wait_until_ready
from infra.brokers.tansu import EmbeddedBroker, free_port
from infra.topics import Topics
from replay.loader import Loaded
from replay.publish import publish_events
from schemas.events import DiplomaticEvent

__all__ = ["BenchOptions", "committed_offsets", "run_bench"]

ROOT = Path(__file__).resolve().parents[1]
PARTITIONS = 4


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


async def committed_offsets(
    bootstrap: str, group: str, topic: str, partitions: int = PARTITIONS
) -> int:
    """Return the sum of a consumer group's committed offsets on ``topic``."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group)
    await consumer.start()
    try:
        total = 0
        for p in range(partitions):
            total += await consumer.committed(TopicPartition(topic, p)) or 0
        return total
    finally:
        await consumer.stop()


@dataclass
class _Worker:
    proc: subprocess.Popen[bytes]
    app_id: str
    started: float
    log_path: Path


#: The worker users run, and Faust's own ceiling with the project's decode (bench/ceiling.py).
WORKER: Final = ("dipwatch", "worker")
CEILING: Final = ("bench.ceiling",)


def _start_worker(
    bootstrap: str,
    topics: Topics,
    workdir: Path,
    extra_env: dict[str, str] | None = None,
    module: tuple[str, ...] = WORKER,
    app_id: str | None = None,
) -> _Worker:
    app_id = app_id or f"bench-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        **(extra_env or {}),
        "DIPWATCH_BOOTSTRAP_SERVERS": bootstrap,
        "DIPWATCH_TOPIC_PREFIX": topics.prefix,
        "DIPWATCH_PARTITIONS": str(PARTITIONS),
        "DIPWATCH_APP_ID": app_id,
        "DIPWATCH_DATA_DIR": str(workdir / "data"),
        "DIPWATCH_WEB_ENABLED": "false",
        "DIPWATCH_LOG_FORMAT": "json",
        "DIPWATCH_LOG_LEVEL": "warning",
        # Every rate is timed from a worker's commits: under load every 10 s or 100,000
        # records (the defaults, which decide how often values are written back), and
        # within 0.25 s of catching up (DIPWATCH_CAUGHT_UP_COMMIT_S), which ends a drain.
    }
    log_path = workdir / f"{app_id}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", *module],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return _Worker(proc, app_id, time.monotonic(), log_path)


def _stop_worker(worker: _Worker) -> None:
    worker.proc.terminate()
    try:
        worker.proc.wait(60)
    except subprocess.TimeoutExpired:
        worker.proc.kill()


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


async def _drain(bootstrap: str, topics: Topics, worker: _Worker, count: int) -> dict[str, float]:
    """Wait until the worker has committed ``count`` events; return its rate and startup."""
    first: tuple[float, int] | None = None
    while True:
        if worker.proc.poll() is not None:
            lines = worker.log_path.read_text(errors="replace").splitlines()
            at = next((i for i, x in enumerate(lines) if "Traceback" in x), len(lines) - 15)
            tail = lines[max(at - 5, 0) : at + 40]
            raise RuntimeError(f"worker exited with {worker.proc.returncode}:\n" + "\n".join(tail))
        done = await committed_offsets(bootstrap, worker.app_id, topics.events)
        now = time.monotonic()
        if done and first is None:
            first = (now, done)
        if done >= count:
            break
        await asyncio.sleep(0.25)
    assert first is not None
    span = now - first[0]
    eps = (count - first[1]) / span if span > 0 and count > first[1] else float("nan")
    return {"worker_eps": eps, "startup_s": first[0] - worker.started}


async def _ceiling_rate(
    bootstrap: str, topics: Topics, workdir: Path, count: int, module: tuple[str, ...]
) -> float:
    """A Faust null worker (bench/ceiling.py) on the full topic, in its own group."""
    ceiling = _start_worker(bootstrap, topics, workdir, module=module)
    try:
        return (await _drain(bootstrap, topics, ceiling, count))["worker_eps"]
    finally:
        _stop_worker(ceiling)


async def _pair_rate(bootstrap: str, topics: Topics, workdir: Path, count: int) -> float:
    """Two workers in one new group, started together on the full topic; events/s from
    the group's first commit to its last (their join and split included)."""
    app_id = f"bench-{uuid.uuid4().hex[:8]}"
    pair = [_start_worker(bootstrap, topics, workdir, app_id=app_id) for _ in range(2)]
    try:
        return (await _drain(bootstrap, topics, pair[0], count))["worker_eps"]
    finally:
        for worker in pair:
            _stop_worker(worker)


async def _worker_run(
    bootstrap: str,
    shape: Shape,
    workdir: Path,
    tag: str,
    extra_env: dict[str, str] | None = None,
) -> tuple[dict[str, float], _Worker, Topics, list[DiplomaticEvent]]:
    topics = Topics(f"bench{tag}{uuid.uuid4().hex[:6]}", PARTITIONS)
    events = list(generate(shape))
    publish_eps = await _publish(bootstrap, topics, events)
    worker = _start_worker(bootstrap, topics, workdir, extra_env)
    drained = await _drain(bootstrap, topics, worker, len(events))
    figures = {"publish_eps": publish_eps, **drained, "peak_rss_mb": rss_mb(worker.proc.pid)}
    return figures, worker, topics, events


async def _rounds(
    options: BenchOptions, bootstrap: str, topics: Topics, workdir: Path, count: int
) -> tuple[list[dict[str, float]], _Worker, float | None]:
    """(b), (f), (f2) and (g) drained ``options.rounds`` times on the topic (bench/rounds.py);
    return each round's rates, the last worker (left running) and the broker's RSS after
    the first worker's drain."""
    kinds = KINDS if options.scale_out else KINDS[:3]
    modules = {"ceiling": CEILING, "ceiling_writes": (*CEILING, "--writes")}
    rounds: list[dict[str, float]] = []
    kept: _Worker | None = None
    broker_after: float | None = None
    for number in range(options.rounds):
        rates = {"calibration_ms": calibration_ms()}
        for kind in order(number, options.rounds, kinds):
            if kind == "worker":
                worker = _start_worker(bootstrap, topics, workdir)
                drained = await _drain(bootstrap, topics, worker, count)
                rates |= {"worker": drained["worker_eps"], "startup_s": drained["startup_s"]}
                if number == 0:
                    broker_after = broker_rss_mb(bootstrap)
                if number < options.rounds - 1:
                    _stop_worker(worker)
                else:
                    kept = worker  # the last drain of the last round: kept for the probe
            elif kind == "two_workers":
                rates[kind] = await _pair_rate(bootstrap, topics, workdir, count)
            else:
                rates[kind] = await _ceiling_rate(bootstrap, topics, workdir, count, modules[kind])
        rounds.append(rates)
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
                    others=cpu_of(worker.proc.pid, bootstrap),
                )
                latency.pop("trace")  # (``bench latency --trace`` keeps it)
                peak_rss_mb = rss_mb(worker.proc.pid)
            finally:
                _stop_worker(worker)
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
                    _stop_worker(w)
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
        "worker_startup_s": round(median["startup_s"], 1),
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
