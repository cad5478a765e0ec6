"""The stall guard (streams/stall.py): when a worker that reads no more, with records
left on its partitions, is restarted, and when the offsets left hold only transaction
markers. The reads are replaced here; tests/integration/test_stalls.py reads a broker."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import pytest

from infra.progress import Progress
from streams.stall import StallGuard

TOPIC = "w.events"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Log:
    """Committed offsets and the first record of each span, as the broker would say."""

    def __init__(self, committed: dict[int, int], records: dict[int, int]) -> None:
        self.committed, self.records = committed, records
        self.reads: list[dict[int, tuple[int, int]]] = []

    async def starts(self) -> dict[int, int]:
        return dict(self.committed)

    async def read(self, topic: str, spans: Mapping[int, tuple[int, int]]) -> dict[int, int]:
        assert topic == TOPIC
        self.reads.append(dict(spans))
        return {p: o for p, o in self.records.items() if p in spans and o < spans[p][1]}


def _guard(ends: dict[int, int], log: Log) -> tuple[StallGuard, Progress, Clock]:
    clock = Clock()
    progress = Progress(highwaters=lambda: {(TOPIC, p): end for p, end in ends.items()})
    progress.reading_since = clock.now
    return StallGuard(progress, log.starts, log.read, TOPIC, 120.0, clock), progress, clock


def _check(guard: StallGuard, reading: bool = True) -> str | None:
    return asyncio.run(guard.check(reading))


def test_a_restarted_worker_with_nothing_new_to_read_is_not_stalled() -> None:
    """Its partitions start at their commits, the log's ends: no batch comes, none waits.
    (Before, every offset below the log end counted as waiting, and /healthz said
    'stalled' two minutes after such a restart.)"""
    log = Log(committed={0: 10, 1: 25}, records={})
    guard, progress, clock = _guard({0: 10, 1: 25}, log)
    assert progress.lag() == {(TOPIC, 0): 10, (TOPIC, 1): 25}  # before the commits are read
    assert _check(guard) is None
    assert progress.lag() == {(TOPIC, 0): 0, (TOPIC, 1): 0}
    clock.now += 600
    assert _check(guard) is None and progress.stalled_for(clock.now) == 0.0
    assert log.reads == []


def test_records_never_delivered_past_the_limit_restart_the_worker() -> None:
    log = Log(committed={0: 5, 1: 3}, records={0: 5})
    guard, _, clock = _guard({0: 10, 1: 3}, log)
    assert _check(guard) is None  # seeded: partition 0 waits, from 5
    clock.now += 120
    assert _check(guard) is None and log.reads == []  # not past the limit yet
    clock.now += 1
    reason = _check(guard)
    assert log.reads == [{0: (5, 10)}]  # only what waits is read
    assert (
        reason
        == "no batch for 121 s, records never delivered: partition 0 from offset 5 (log end 10)"
    )


def test_offsets_that_hold_only_transaction_markers_are_booked_as_read() -> None:
    log = Log(committed={0: 5}, records={})  # offset 5: a commit marker, no record
    guard, progress, clock = _guard({0: 6}, log)
    assert _check(guard) is None
    clock.now += 121
    assert _check(guard) is None
    assert log.reads == [{0: (5, 6)}]
    assert progress.lag() == {(TOPIC, 0): 0} and progress.stalled_for(clock.now) == 0.0
    clock.now += 600
    assert _check(guard) is None and len(log.reads) == 1  # not read again


def test_a_batch_folded_while_the_guard_reads_means_no_stall() -> None:
    log = Log(committed={0: 5}, records={0: 5})
    guard, progress, clock = _guard({0: 10}, log)
    assert _check(guard) is None
    clock.now += 121
    read = log.read

    async def slow_read(topic: str, spans: Mapping[int, tuple[int, int]]) -> dict[int, int]:
        progress.batch_done({(TOPIC, 0): 7})  # the agent moved meanwhile
        return await read(topic, spans)

    guard.read = slow_read
    assert _check(guard) is None


def test_time_spent_rebalancing_or_recovering_is_not_a_stall() -> None:
    log = Log(committed={0: 5}, records={0: 5})
    guard, progress, clock = _guard({0: 10}, log)
    assert _check(guard) is None
    clock.now += 500
    assert _check(guard, reading=False) is None  # recovering its tables all that time
    assert log.reads == [] and progress.reading_since == clock.now
    log.committed = {0: 8}  # another member folded on meanwhile: read again after it
    clock.now += 5
    assert _check(guard) is None and progress.waiting() == {(TOPIC, 0): (8, 10)}
    clock.now += 120  # the limit counts from the first look at a reading worker
    assert _check(guard) is None
    clock.now += 1
    assert _check(guard) is not None
    assert log.reads == [{0: (8, 10)}]


def test_a_batch_folded_resets_the_clock() -> None:
    log = Log(committed={0: 5}, records={0: 9})
    guard, progress, clock = _guard({0: 10}, log)
    assert _check(guard) is None
    clock.now += 100
    progress.batch_done({(TOPIC, 0): 9})
    progress.last_batch_at = clock.now
    clock.now += 100
    assert _check(guard) is None and log.reads == []
    clock.now += 21
    assert _check(guard) == (
        "no batch for 121 s, records never delivered: partition 0 from offset 9 (log end 10)"
    )


def test_a_partition_assigned_to_an_idle_worker_is_given_the_limit_from_then() -> None:
    """A rebalance shorter than the guard's look: the worker had nothing to do for ten
    minutes, then gets a partition with records waiting. It has the whole limit to read
    them (a stall counted from its last batch would restart it at once)."""
    log = Log(committed={0: 5}, records={1: 0})
    ends = {0: 5}
    guard, _, clock = _guard(ends, log)
    assert _check(guard) is None
    clock.now += 600
    guard.rebalancing()  # revoked and assigned again between two looks, now with 1 too
    ends[1] = 40
    log.committed = {0: 5, 1: 0}
    clock.now += 3
    assert _check(guard) is None and log.reads == []
    clock.now += 120
    assert _check(guard) is None and log.reads == []
    clock.now += 1
    assert _check(guard) is not None and log.reads == [{1: (0, 40)}]


def test_time_the_broker_could_not_be_reached_is_not_a_stall() -> None:
    """A broker gone for longer than the limit: the worker folds nothing meanwhile, and
    neither can the guard read. Once it can, the worker gets the time to read again
    (restarting it then would only add a rebalance)."""
    log = Log(committed={0: 5}, records={0: 5})
    guard, _, clock = _guard({0: 10}, log)
    assert _check(guard) is None
    read = log.read

    async def unreachable(topic: str, spans: Mapping[int, tuple[int, int]]) -> dict[int, int]:
        raise ConnectionError("broker unreachable")

    guard.read = unreachable
    for _ in range(3):  # six minutes: each time past the limit, the read fails
        clock.now += 121
        with pytest.raises(ConnectionError):
            _check(guard)
        clock.now += 5
        assert _check(guard) is None  # counted again from the failure
    guard.read = read
    clock.now += 115
    assert _check(guard) is None and log.reads == []
    clock.now += 1
    assert _check(guard) is not None and log.reads == [{0: (5, 10)}]
