"""A hole in a partition's offsets — a record the worker's consumer never delivered —
stops the worker before it folds or commits anything past it (streams/continuity.py).

Faust makes such holes only now and then, at the end of a rebalance (docs/ARCHITECTURE.md,
"No record can stop a worker"); here one is made on purpose: a transaction's commit
marker takes an offset that no consumer is given. Apache Kafka only (the embedded broker
has no transactions)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

from bench.run import committed_offsets
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
        if txn:
            async with producer.transaction():
                for event in events:
                    await producer.send(topic, encode_event(event), key=event.dyad.encode())
        else:
            for event in events:
                await producer.send(topic, encode_event(event), key=event.dyad.encode())
            await producer.flush()
    finally:
        await producer.stop()


def test_a_hole_in_a_partitions_offsets_stops_the_worker_short_of_it(
    broker_kind: str, isolated: dict[str, str], topics: Topics, tmp_path: Path
) -> None:
    if broker_kind != "kafka":
        pytest.skip("needs a transaction's marker: Apache Kafka only (make test-kafka)")
    bootstrap, group = isolated["DIPWATCH_BOOTSTRAP_SERVERS"], isolated["DIPWATCH_APP_ID"]
    partitions = Topics().partitions
    asyncio.run(ensure_topics(bootstrap, topics, 1))
    # One dyad, so one partition: offsets 0-4, the marker at 5, then 6-10.
    before = [threat(f"before-{i}", f"2022-10-{i + 1:02d}T00:00:00Z") for i in range(5)]
    after = [threat(f"after-{i}", f"2022-11-{i + 1:02d}T00:00:00Z") for i in range(5)]
    asyncio.run(_publish(bootstrap, topics.events, before, txn=True))
    log = tmp_path / "worker.log"
    proc = start_worker(isolated, log)
    try:
        started = time.monotonic()
        # The worker folds and commits what comes before the hole ...
        while asyncio.run(committed_offsets(bootstrap, group, topics.events, partitions)) < 5:
            assert proc.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() - started < 90, "the records before the hole not committed"
            time.sleep(0.2)
        asyncio.run(_publish(bootstrap, topics.events, after, txn=False))
        # ... and stops at the first record after it, to be restarted.
        assert proc.wait(60) == EXIT_RESTART, log.read_text()[-3000:]
    finally:
        stop_process(proc)
    text = log.read_text()
    assert "records_skipped" in text
    assert "offset 6 delivered after 4; offsets 5..5 were skipped" in text
    # Nothing past the hole was committed: a restart reads from it again.
    assert asyncio.run(committed_offsets(bootstrap, group, topics.events, partitions)) == 5
