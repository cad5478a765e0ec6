"""A hole in a partition's offsets — a record the worker's consumer never delivered —
stops the worker before it folds or commits anything past it (streams/continuity.py).

Faust makes such holes only now and then, at the end of a rebalance (docs/ARCHITECTURE.md,
"No record can stop a worker"); here one is made on purpose: a transaction's commit
marker takes an offset that no consumer is given. Apache Kafka only (the embedded broker
has no transactions)."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import time
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

from bench.workers import committed_offsets
from infra.admin import ensure_topics
from infra.topics import Topics
from schemas.codec import encode_event
from schemas.events import DiplomaticEvent
from streams.watchdog import EXIT_RESTART
from tests.helpers import start_worker, stop_process, threat


async def _publish(bootstrap: str, topic: str, events: list[DiplomaticEvent], txn: bool) -> None:
    options = {"transactional_id": "dipwatch-test-hole"} if txn else {}
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", **options)
    await producer.start()
    try:
        async with producer.transaction() if txn else contextlib.nullcontext():
            for event in events:
                await producer.send(topic, encode_event(event), key=event.dyad.encode())
        await producer.flush()
    finally:
        await producer.stop()


def _committed(isolated: dict[str, str], topics: Topics) -> int:
    bootstrap, group = isolated["DIPWATCH_BOOTSTRAP_SERVERS"], isolated["DIPWATCH_APP_ID"]
    return asyncio.run(committed_offsets(bootstrap, group, topics.events, Topics().partitions))


def _wait_committed(
    proc: subprocess.Popen[bytes], log: Path, isolated: dict[str, str], topics: Topics
) -> None:
    started = time.monotonic()
    while _committed(isolated, topics) < 5:
        assert proc.poll() is None, log.read_text()[-3000:]
        assert time.monotonic() - started < 90, "the records before the hole not committed"
        time.sleep(0.2)


@pytest.mark.parametrize("restart", [False, True], ids=["while running", "at a restart"])
def test_a_hole_in_a_partitions_offsets_stops_the_worker_short_of_it(
    broker_kind: str, isolated: dict[str, str], topics: Topics, tmp_path: Path, restart: bool
) -> None:
    """The hole comes in the middle of what a worker reads, or first thing after its
    restart (the committed offset is the hole's: Faust once delivered a restart's
    partition from offset 76 where its commit was 12, the records between dropped)."""
    if broker_kind != "kafka":
        pytest.skip("needs a transaction's marker: Apache Kafka only (make test-kafka)")
    bootstrap = isolated["DIPWATCH_BOOTSTRAP_SERVERS"]
    asyncio.run(ensure_topics(bootstrap, topics, 1))
    # One dyad, so one partition: offsets 0-4, the marker at 5, then 6-10.
    before = [threat(f"before-{i}", f"2022-10-{i + 1:02d}T00:00:00Z") for i in range(5)]
    after = [threat(f"after-{i}", f"2022-11-{i + 1:02d}T00:00:00Z") for i in range(5)]
    asyncio.run(_publish(bootstrap, topics.events, before, txn=True))
    log = tmp_path / "worker.log"
    proc = start_worker(isolated, log)
    try:
        _wait_committed(proc, log, isolated, topics)  # folded and committed up to the hole
        if restart:
            stop_process(proc)
            asyncio.run(_publish(bootstrap, topics.events, after, txn=False))
            proc = start_worker(isolated, log)
        else:
            asyncio.run(_publish(bootstrap, topics.events, after, txn=False))
        # It stops at the first record after the hole, to be restarted.
        assert proc.wait(60) == EXIT_RESTART, log.read_text()[-3000:]
    finally:
        stop_process(proc)
    text = log.read_text()
    assert "records_skipped" in text
    assert "offset 6 delivered after 4; offsets 5..5 were skipped" in text
    # Nothing past the hole was committed: a restart reads from it again.
    assert _committed(isolated, topics) == 5
