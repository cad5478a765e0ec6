"""A worker that stopped reading with records left to read: told from a partition whose
last offsets hold no record, and restarted.

The continuity check (streams/continuity.py) sees a record skipped when a later one is
delivered. It cannot see records skipped with none after them: the consumer's position
is past them, nothing more comes, and the worker waits for ever while ``/healthz`` says
it stalled (session 18 traced one such path, a fetch Faust dropped between the recovery's
seek and its resume: ``streams/seek_first.py::seek_again``). A hung agent looks the same
from outside. So a guard checks every few seconds, once the worker is reading (not
rebalancing, not recovering its tables):

- each owned partition is expected to be read from its committed offset on, and past
  every batch folded (``Progress.starting`` and ``Progress.batch_done``);
- when no batch has come for ``stall_timeout_s`` while a partition's log end is past that
  offset, the guard reads those offsets itself, with a consumer of its own;
- a record there means the worker holds records it will never fold: it commits nothing
  more and exits with code 75, to be restarted from its last commit, which never passed
  them;
- no record there means the offsets hold only transaction markers (a control record
  takes an offset and is given to no consumer; the events topic's own writers use no
  transactions, but another may): nothing waits, the partition is booked as read to its
  end, and the worker goes on.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from functools import partial
from typing import Any, Final

import faust
from aiokafka import TopicPartition

from infra.clients import plain_consumer, start_offsets
from infra.connection import Connection
from infra.logs import get_logger
from infra.progress import Progress
from infra.settings import Settings
from streams.compat import stop_without_committing
from streams.watchdog import restart

__all__ = ["CHECK_EVERY_S", "StallGuard", "first_records", "guard_stalls"]

log = get_logger(__name__)

#: How often the guard looks.
CHECK_EVERY_S: Final = 5.0
#: How long the guard's own reader may take to read the offsets a stall left.
READ_LIMIT_S: Final = 30.0


async def first_records(
    connection: Connection | str,
    topic: str,
    spans: Mapping[int, tuple[int, int]],
    limit_s: float = READ_LIMIT_S,
) -> dict[int, int]:
    """The offset of the first record in ``[start, end)`` of each partition of ``spans``
    (``partition: (start, end)``); a partition whose span holds only control records
    (transaction markers) is absent. Raises TimeoutError if the log could not be read
    to ``end`` within ``limit_s``."""
    consumer = plain_consumer(connection, auto_offset_reset="earliest")
    await consumer.start()
    try:
        tps = {TopicPartition(topic, p): span for p, span in spans.items()}
        consumer.assign(list(tps))
        for tp, (start, _) in tps.items():
            consumer.seek(tp, start)
        found: dict[int, int] = {}
        left = {tp for tp, (start, end) in tps.items() if start < end}
        deadline = time.monotonic() + limit_s
        while left:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{topic}: offsets {dict(spans)} not read in {limit_s:g} s")
            batches = await consumer.getmany(*left, timeout_ms=500)
            for tp, records in batches.items():
                end = tps[tp][1]
                if tp in left and any(r.offset < end for r in records):
                    found[tp.partition] = min(r.offset for r in records)
                    left.discard(tp)
            for tp in list(left):
                if await consumer.position(tp) >= tps[tp][1]:  # past markers only
                    left.discard(tp)
        return found
    finally:
        await consumer.stop()


class StallGuard:
    """The check of the module docstring, for one worker's events topic."""

    def __init__(
        self,
        progress: Progress,
        starts: Callable[[], Awaitable[dict[int, int]]],
        read: Callable[[str, Mapping[int, tuple[int, int]]], Awaitable[dict[int, int]]],
        topic: str,
        limit_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.progress, self.starts, self.read = progress, starts, read
        self.topic, self.limit_s, self.clock = topic, limit_s, clock
        #: Whether the committed offsets were read since the last rebalance.
        self.seeded = False

    def rebalancing(self) -> None:
        """Partitions are being reassigned: each will be read from its committed offset
        once the rebalance and the recovery are over, and a stall counts from then."""
        self.seeded = False
        self.progress.reading_since = self.clock()

    async def check(self, reading: bool) -> str | None:
        """Look once (``reading``: the worker is neither rebalancing nor recovering its
        tables); return why the worker must restart, or None."""
        progress, now = self.progress, self.clock()
        if not reading:
            progress.reading_since = now
            self.seeded = False
            return None
        try:
            if not self.seeded:  # a start, or the first look after a rebalance
                starts = await self.starts()
                progress.starting({(self.topic, p): offset for p, offset in starts.items()})
                progress.reading_since = max(progress.reading_since, now)
                self.seeded = True
            if progress.stalled_for(now) <= self.limit_s:
                return None
            waiting = {tp[1]: sp for tp, sp in progress.waiting().items() if tp[0] == self.topic}
            last = progress.last_batch_at
            found = await self.read(self.topic, waiting)
        except Exception:
            # The broker could not be reached: the worker could not read either, so the
            # time until it can is not a stall (records it then finds are not lost).
            progress.reading_since = self.clock()
            raise
        if progress.last_batch_at != last:
            return None  # a batch came while the guard read: not stalled after all
        for partition, (_, end) in waiting.items():
            if partition not in found:
                log.warning("offsets_without_records", partition=partition, until=end)
                progress.starting({(self.topic, partition): end})
        if not found:
            return None
        where = ", ".join(
            f"partition {p} from offset {o} (log end {waiting[p][1]})"
            for p, o in sorted(found.items())
        )
        return f"no batch for {progress.stalled_for(now):.0f} s, records never delivered: {where}"


def guard_stalls(
    app: faust.App, settings: Settings, connection: Connection, topic: str, progress: Progress
) -> StallGuard:
    """Run a :class:`StallGuard` on ``app``'s events topic every :data:`CHECK_EVERY_S`;
    on a stall with records never delivered, commit nothing more and restart."""
    starts = partial(start_offsets, connection, settings.app_id, topic, settings.partitions)
    guard = StallGuard(
        progress, starts, partial(first_records, connection), topic, settings.stall_timeout_s
    )

    @app.on_partitions_revoked.connect  # type: ignore[arg-type]
    async def _revoked(sender: Any, *_: Any, **__: Any) -> None:
        guard.rebalancing()

    @app.timer(interval=CHECK_EVERY_S)  # type: ignore[untyped-decorator]
    async def _stall_guard() -> None:
        if progress.restart_reason is not None:
            return
        try:
            reason = await guard.check(_reading(app))
        except Exception as exc:  # the broker, for a moment: look again next time
            log.warning("stall_check_failed", reason=f"{type(exc).__name__}: {exc!s:.300}")
            return
        if reason is not None:
            log.error("records_not_delivered", reason=reason)
            stop_without_committing(app)  # before anything else: no commit past them
            restart(progress, reason)

    return guard


def _reading(app: Any) -> bool:
    """Whether Faust's worker is reading its streams: not rebalancing, not recovering."""
    return not app.rebalancing and not app.tables.recovery.in_recovery
