"""The worker processes a bench starts on a topic, and the timing of their drains: a
real ``dipwatch worker`` (or Faust's null worker, bench/ceiling.py) as users run it,
timed from its offset commits."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.procs import cpu_of, processes
from infra.topics import Topics

__all__ = [
    "CEILING",
    "PARTITIONS",
    "WORKER",
    "Worker",
    "committed_offsets",
    "drain",
    "start_worker",
    "stop_worker",
]

#: The partitions of every topic a bench creates.
PARTITIONS: Final = 4


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
class Worker:
    """A worker process a bench started: its group (app id), start and log."""

    proc: subprocess.Popen[bytes]
    app_id: str
    started: float
    log_path: Path


#: The worker users run, and Faust's own ceiling with the project's decode (bench/ceiling.py).
WORKER: Final = ("dipwatch", "worker")
CEILING: Final = ("bench.ceiling",)


def start_worker(
    bootstrap: str,
    topics: Topics,
    workdir: Path,
    extra_env: dict[str, str] | None = None,
    module: tuple[str, ...] = WORKER,
    app_id: str | None = None,
) -> Worker:
    """Start ``module`` (default: ``dipwatch worker``) on ``topics`` in group ``app_id``
    (default: a new one), its output to a log in ``workdir``."""
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
    # (Faust makes its own directory in it, not the parents: a ceiling drained first
    # found none.)
    (workdir / "data").mkdir(parents=True, exist_ok=True)
    log_path = workdir / f"{app_id}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", *module],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return Worker(proc, app_id, time.monotonic(), log_path)


def stop_worker(worker: Worker) -> None:
    """Stop it as compose does (SIGTERM), killed after 60 s."""
    worker.proc.terminate()
    try:
        worker.proc.wait(60)
    except subprocess.TimeoutExpired:
        worker.proc.kill()


async def drain(
    bootstrap: str,
    topics: Topics,
    worker: Worker,
    count: int,
    cpu: Sequence[int] = (),
) -> dict[str, float]:
    """Wait until the worker has committed ``count`` events; return its rate, its start-up
    and, for the worker processes ``cpu`` (with their fold processes and the broker this
    bench started: bench/procs.py), the CPU µs each event timed cost each, and how many
    processes each share sums."""
    read = cpu_of(bootstrap, *cpu) if cpu else None
    first: tuple[float, int, dict[str, float]] | None = None
    while True:
        if worker.proc.poll() is not None:
            lines = worker.log_path.read_text(errors="replace").splitlines()
            at = next((i for i, x in enumerate(lines) if "Traceback" in x), len(lines) - 15)
            tail = lines[max(at - 5, 0) : at + 40]
            raise RuntimeError(f"worker exited with {worker.proc.returncode}:\n" + "\n".join(tail))
        done = await committed_offsets(bootstrap, worker.app_id, topics.events)
        now = time.monotonic()
        if done and first is None:
            first = (now, done, read() if read else {})
        if done >= count:
            break
        await asyncio.sleep(0.25)
    assert first is not None
    span, timed = now - first[0], count - first[1]
    eps = timed / span if span > 0 and timed > 0 else float("nan")
    figures = {"worker_eps": eps, "startup_s": first[0] - worker.started}
    if read and timed > 0:  # CPU µs an event, over the span the rate is timed on
        last = read()
        figures |= {f"cpu_us.{k}": (last[k] - first[2][k]) / timed * 1e6 for k in last}
        figures |= {f"processes.{k}": n for k, n in processes(*cpu).items()}
    return figures
