"""A worker whose consumer is past records it never delivered, with none after them,
is restarted from its last commit (streams/stall.py); offsets that hold only a
transaction's marker do not restart it.

The continuity check (test_skipped_records.py) catches a skip when a later record comes;
here none comes, so only the stall guard can see it."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from aiokafka.partitioner import DefaultPartitioner

from infra.admin import ensure_topics
from infra.topics import Topics
from schemas.events import DiplomaticEvent
from streams.stall import first_records
from streams.watchdog import EXIT_RESTART
from tests.helpers import start_worker, stop_process, threat
from tests.integration.skipping_worker import FOLDED, SKIP_TO
from tests.integration.test_skipped_records import _committed, _publish

#: A stall is acted on after this long (the default is 120 s).
STALL_S = "4"


def _wait_for(
    what: str, done: Callable[[], bool], proc: subprocess.Popen[bytes], log: Path
) -> None:
    started = time.monotonic()
    while not done():
        assert proc.poll() is None, log.read_text()[-3000:]
        assert time.monotonic() - started < 90, (
            f"{what}: not within 90 s\n" + log.read_text()[-3000:]
        )
        time.sleep(0.2)


def _events(prefix: str, month: int, n: int) -> list[DiplomaticEvent]:
    return [threat(f"{prefix}-{i}", f"2022-{month:02d}-{i + 1:02d}T00:00:00Z") for i in range(n)]


def test_records_never_delivered_restart_the_worker_which_then_folds_them(
    isolated: dict[str, str], topics: Topics, tmp_path: Path
) -> None:
    bootstrap = isolated["DIPWATCH_BOOTSTRAP_SERVERS"]
    asyncio.run(ensure_topics(bootstrap, topics, 1))
    env = {
        **isolated,
        "DIPWATCH_STALL_TIMEOUT_S": STALL_S,
        "DIPWATCH_TEST_FAULT_FLAG": str(tmp_path / "fault-done"),
    }
    log = tmp_path / "worker.log"
    # One dyad, so one partition: offsets 0..4 folded, then 5..9 never delivered.
    asyncio.run(_publish(bootstrap, topics.events, _events("before", 10, FOLDED), txn=False))
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.integration.skipping_worker"],
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for(
            "paused after the first records",
            lambda: "test_fault_paused" in log.read_text(),
            proc,
            log,
        )
        after = _events("after", 11, SKIP_TO - FOLDED)
        asyncio.run(_publish(bootstrap, topics.events, after, txn=False))
        assert proc.wait(90) == EXIT_RESTART, log.read_text()[-3000:]
    finally:
        stop_process(proc)
    text = log.read_text()
    assert "test_fault_skipped" in text and "records_not_delivered" in text
    assert f"from offset {FOLDED} (log end {SKIP_TO})" in text
    assert _committed(isolated, topics) == FOLDED  # nothing past them committed
    proc = start_worker(env, log)  # restarted (by compose, say): reads from its commit
    try:
        _wait_for("the records folded", lambda: _committed(isolated, topics) == SKIP_TO, proc, log)
    finally:
        stop_process(proc)


def test_offsets_holding_only_a_transaction_marker_do_not_restart_the_worker(
    broker_kind: str, isolated: dict[str, str], topics: Topics, tmp_path: Path
) -> None:
    if broker_kind != "kafka":
        pytest.skip("needs a transaction's marker: Apache Kafka only (make test-kafka)")
    bootstrap = isolated["DIPWATCH_BOOTSTRAP_SERVERS"]
    asyncio.run(ensure_topics(bootstrap, topics, 1))
    # Offsets 0..4, then the commit marker at 5: the log ends at 6 with no record there.
    asyncio.run(_publish(bootstrap, topics.events, _events("before", 10, 5), txn=True))
    log = tmp_path / "worker.log"
    proc = start_worker({**isolated, "DIPWATCH_STALL_TIMEOUT_S": STALL_S}, log)
    try:
        _wait_for(
            "the marker read", lambda: "offsets_without_records" in log.read_text(), proc, log
        )
        time.sleep(2 * float(STALL_S) + 6)  # two more checks past the limit: no restart
        assert proc.poll() is None, log.read_text()[-3000:]
    finally:
        stop_process(proc)
    assert "records_not_delivered" not in log.read_text()
    assert _committed(isolated, topics) == 5


def test_the_guard_reads_records_and_passes_markers(
    broker_kind: str, isolated: dict[str, str], topics: Topics
) -> None:
    """streams/stall.py::first_records against a real broker: the first record of a
    span; none in a span holding only a transaction's marker (Apache Kafka)."""
    bootstrap = isolated["DIPWATCH_BOOTSTRAP_SERVERS"]
    asyncio.run(ensure_topics(bootstrap, topics, 1))
    txn = broker_kind == "kafka"
    events = _events("a", 10, 3)
    asyncio.run(_publish(bootstrap, topics.events, events, txn=txn))
    keys = list(range(Topics().partitions))
    partition = DefaultPartitioner()(events[0].dyad.encode(), keys, keys)  # as the writers key
    found = asyncio.run(first_records(bootstrap, topics.events, {partition: (1, 3)}))
    assert found == {partition: 1}
    if txn:  # offsets 0..2, the marker at 3
        assert asyncio.run(first_records(bootstrap, topics.events, {partition: (3, 4)})) == {}
