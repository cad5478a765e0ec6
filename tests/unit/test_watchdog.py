"""The recovery watchdog (streams/watchdog.py): when a worker gives up on Faust's
changelog recovery and asks its supervisor for a restart."""

from __future__ import annotations

from collections import Counter
from typing import NamedTuple

from infra.progress import Progress
from streams.watchdog import stalled_partitions, watch_recovery


class TP(NamedTuple):
    topic: str
    partition: int


class Recovery:
    """The parts of Faust's Recovery the watchdog reads (the real attributes are checked
    in test_dependency_seams.py)."""

    def __init__(self, started: float | None, remaining: dict[TP, int]) -> None:
        self.in_recovery = started is not None
        self._recovery_started_at = started
        self._active_events_received_at: dict[TP, float] = {}
        self._remaining = remaining

    def active_remaining(self) -> Counter[TP]:
        return Counter(self._remaining)


A, B = TP("w-timeline-state-changelog", 2), TP("w-timeline-state-changelog", 3)


def test_a_recovery_that_received_nothing_past_the_limit_is_stalled() -> None:
    recovery = Recovery(started=100.0, remaining={A: 272, B: 105})
    assert stalled_partitions(recovery, now=140.0, limit_s=45) == []
    assert stalled_partitions(recovery, now=146.0, limit_s=45) == [
        "w-timeline-state-changelog:2",
        "w-timeline-state-changelog:3",
    ]


def test_a_recovery_that_is_reading_or_done_is_not_stalled() -> None:
    recovery = Recovery(started=100.0, remaining={A: 272, B: 0})
    recovery._active_events_received_at[A] = 130.0  # a record 16 s ago: still reading
    assert stalled_partitions(recovery, now=146.0, limit_s=45) == []
    assert stalled_partitions(recovery, now=176.0, limit_s=45) == ["w-timeline-state-changelog:2"]
    assert stalled_partitions(Recovery(None, {A: 5}), now=1e9, limit_s=45) == []


def test_a_stall_is_reported_once_and_the_worker_stopped_for_a_restart() -> None:
    recovery, progress, stops = Recovery(started=0.0, remaining={A: 1}), Progress(), []
    assert not watch_recovery(recovery, progress, 45, lambda: 10.0, stop=lambda: stops.append(1))
    assert watch_recovery(recovery, progress, 45, lambda: 50.0, stop=lambda: stops.append(1))
    assert not watch_recovery(recovery, progress, 45, lambda: 60.0, stop=lambda: stops.append(1))
    assert stops == [1]
    assert (
        progress.restart_reason is not None
        and "timeline-state-changelog:2" in progress.restart_reason
    )
    assert progress.crashed == progress.restart_reason  # /healthz says 503 and why
    progress.batch_done({("events", 0): 8})  # outcomes of a batch sent before the stop
    assert progress.crashed == progress.restart_reason  # still 503 until the restart
