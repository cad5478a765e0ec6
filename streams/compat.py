"""The places the engine bends Faust to its needs, with why.

A Faust table write finds its changelog partition through the stream's *current event*
(a context variable) that ``take_events`` batches do not set, and goes through a topic's
channel layer and the producer buffer, most of a write's cost. The worker's fold process
makes the record Faust would (the table's codec, by name) and the agent sends it in the
partition given, straight to Faust's producer (streams/agents.py); the bench's ceiling
does the same through :class:`ChangelogWriter`. :func:`before_flush` has the values
written back before Faust's producer flushes (before every commit), and
:class:`CommitWhenCaughtUp` commits soon once the worker has caught up.

Faust creates its consumer with ``fetch_max_wait_ms=1500`` written into the call, with no
setting. A broker may hold a fetch that long when no data waits (Apache Kafka answers as
soon as data arrives; the embedded broker sleeps half the remaining wait and looks
again), so every hop could wait up to 1.5 s. :func:`set_fetch_wait` sets the wait on the
consumer Faust made, before it starts.

Before it commits offsets, Faust flushes its producer; but its buffer's flush returns as
soon as 0.1 s passes in which no message went out, with messages still waiting (a
produce waits longer than that whenever the broker is slow to take a batch). A table
write was such a message (before :class:`ChangelogWriter`; the producer's own flush,
which comes next, waits for every record it holds): the commit could then precede the
changelog writes of the very records it commits, and a worker that died just after would
restart without them, never to read those records again. :func:`drain_before_commit`
makes the flush wait for every message Faust still buffers (or fail the commit after
``STALL_LIMIT_S`` with none sent).
When the fold process dies, what it folded since its last write-back dies with it: from
then on no offset may be committed (the restarted worker reads those records again), and
the records Faust's stream handed the agent will never be acked, which Faust's stop
waits for (``stream_wait_empty``). :func:`stop_without_committing` turns both off, so
the worker stops at once, leaving its group, instead of hanging until the watchdog's
30 s backstop (measured: 30.0 s every time under load).
``tests/unit/test_dependency_seams.py`` fails if Faust or aiokafka changes a seam.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, Final

from faust.serializers import codecs
from faust.transport.producer import ProducerBuffer

from infra import metrics
from infra.logs import get_logger

__all__ = [
    "FAUST_FLUSH",
    "TABLE_CODEC",
    "ChangelogWriter",
    "CommitWhenCaughtUp",
    "ProducerStalled",
    "TolerantJSON",
    "before_flush",
    "drain_before_commit",
    "flush_all",
    "set_fetch_wait",
    "stop_without_committing",
    "tolerant_table",
]

log = get_logger(__name__)


class TolerantJSON(codecs.json):
    """Faust's JSON codec for table changelogs, except that a record it cannot read
    becomes ``None`` — a deleted key — with a logged reason and a count, instead of an
    exception that stops table recovery on every restart at the same offset."""

    def _loads(self, s: bytes) -> Any:
        try:
            return super()._loads(s)
        except (ValueError, RecursionError, UnicodeDecodeError, TypeError) as exc:
            metrics.CHANGELOG_SKIPPED.inc()
            log.warning("changelog_record_skipped", reason=f"{type(exc).__name__}: {exc!s:.200}")
            return None


#: The name the tables' changelogs are (de)serialised under.
TABLE_CODEC: Final = "dipwatch-json"
codecs.register(TABLE_CODEC, TolerantJSON())


class ChangelogWriter:
    """Writes a table's values as its ``__setitem__`` and ``__delitem__`` do — the
    changelog record, made by the changelog topic's own ``prepare_key``/``prepare_value``
    with the table's codecs, then the store — but in the partition given and straight to
    Faust's producer: a table write through Faust found its partition through the
    current event (set for each write) and went through a topic's channel layer and
    producer buffer, most of a write's cost. :meth:`write` takes a record already made
    (the worker's fold process makes them). The flush before a commit waits for these
    records as for the buffer's (``tests/unit/test_dependency_seams.py``)."""

    def __init__(self, app: Any, table: Any) -> None:
        self.app, self.table = app, table
        self._topic: Any = None  # the table's changelog topic and its name, at first use
        self._name = ""

    async def set(self, partition: int, key: str, value: Any) -> None:
        raw_value, _ = self._changelog().prepare_value(value, self.table.value_serializer)
        await self.write(partition, key, self._raw_key(key), raw_value, value)

    async def delete(self, partition: int, key: str) -> None:
        """Delete ``key`` (a tombstone in its changelog partition) if it is held."""
        await self.write(partition, key, self._raw_key(key), None)

    async def write(
        self,
        partition: int,
        key: str,
        raw_key: bytes,
        raw_value: bytes | None,
        stored: Any = None,
    ) -> None:
        """Keep ``stored`` (by default the value's bytes) under ``key``, or delete the
        key if ``raw_value`` is None — a tombstone only for a key held — and send the
        record to ``partition`` of the changelog."""
        data = self.table.data
        if raw_value is None:
            if key not in data:
                return
            del data[key]
        else:
            data[key] = raw_value if stored is None else stored
        self._changelog()
        await self.app.producer.send(self._name, raw_key, raw_value, partition, None, None)

    def _raw_key(self, key: str) -> bytes:
        raw_key: bytes = self._changelog().prepare_key(key, self.table.key_serializer)[0]
        return raw_key

    def _changelog(self) -> Any:
        if self._topic is None:  # Faust makes it on first use, after the codecs are set
            self._topic = self.table.changelog_topic
            self._name = self._topic.get_topic_name()
        return self._topic


def before_flush(producer: Any, hook: Callable[[], Awaitable[None]]) -> None:
    """Make ``producer``'s flush await ``hook`` first. Faust flushes its producer before
    it commits offsets, when partitions are revoked and when it stops, so ``hook`` runs
    before each of those (the worker writes its table values back there). A second call
    replaces the hook (Faust restarts a crashed agent, which registers again)."""
    original = producer.__dict__.get("_dipwatch_flush")
    if original is None:
        original = producer._dipwatch_flush = producer.flush

    async def flush() -> None:
        await hook()
        await original()

    producer.flush = flush


def stop_without_committing(app: Any) -> None:
    """Commit no more offsets, and have ``app``'s stop skip the wait for its streams'
    records to be acked: for a worker whose fold is gone (see the module docstring)."""
    app.conf.stream_wait_empty = False

    async def no_commit(*_: Any, **__: Any) -> bool:
        log.warning("commit_refused", reason="the worker stops to be restarted")
        return False

    # The step after the flush, where every commit of Faust's consumer reaches the broker
    # (tests/unit/test_dependency_seams.py): a commit that had already begun is refused
    # too. (A commit yields between taking its offsets and its flush; refusing only new
    # ones let such a commit through, with records the dead fold had taken: seen once in
    # nine runs of tests/integration/test_recovery.py, as alerts the log does not raise.)
    app.consumer._commit = no_commit


class CommitWhenCaughtUp:
    """Commit soon after a batch comes short of ``batch_size`` (the stream had nothing
    more within the batch window: the worker has caught up), at most every ``every_s``:
    a short batch too soon after the last such commit gets one when ``every_s`` has
    passed. Faust commits every ``commit_interval`` (10 s) or ``commit_every`` records; a worker
    that has read all there is would otherwise hold up to an interval of folded records
    uncommitted and, since the values are written back before a commit, unseen by the
    read model. The commit runs in its own task after the batch's acks, as Faust's own
    commits do, once a commit already running has ended (Faust skips a commit asked for
    while one runs, which may have begun before the acks); it fails the way theirs do
    (logged)."""

    def __init__(self, app: Any, batch_size: int, every_s: float) -> None:
        self.app, self.batch_size, self.every_s = app, batch_size, every_s
        self._last = -every_s
        self._scheduled = False

    def batch_done(self, size: int) -> None:
        if size >= self.batch_size or self._scheduled:
            return
        self._scheduled = True
        delay = max(0.0, self._last + self.every_s - time.monotonic())
        asyncio.get_running_loop().call_later(delay, self._start)

    def _start(self) -> None:
        self._scheduled = False
        self._last = time.monotonic()
        asyncio.ensure_future(self._commit()).add_done_callback(_log_failure)

    async def _commit(self) -> None:
        consumer = self.app.consumer
        await consumer.maybe_wait_for_commit_to_finish()
        await consumer.commit()


def _log_failure(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.error("commit_failed", reason=f"{type(exc).__name__}: {exc!s:.300}")


def tolerant_table(table: Any) -> Any:
    """Make ``table``'s changelog use :class:`TolerantJSON` (before its changelog topic
    is first used: Faust reads these public attributes when it creates it)."""
    table.key_serializer = TABLE_CODEC
    table.value_serializer = TABLE_CODEC
    return table


def set_fetch_wait(wait_ms: int) -> None:
    """Make the worker consumers Faust creates from now on wait at most ``wait_ms`` for
    data in a fetch (aiokafka reads the attribute when the consumer starts)."""
    from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

    original = _ORIGINAL.setdefault("create", AIOKafkaConsumerThread._create_worker_consumer)

    def create(self: Any, transport: Any) -> Any:
        consumer = original(self, transport)
        consumer._fetch_max_wait_ms = wait_ms
        return consumer

    AIOKafkaConsumerThread._create_worker_consumer = create  # type: ignore[method-assign]


#: How often a flush waiting on a producer that sends nothing says so, and when it gives
#: up (the broker gone for good: Faust's own flush would have let the commit go ahead).
STALL_REPORT_S: Final = 10.0
STALL_LIMIT_S: Final = 120.0


class ProducerStalled(RuntimeError):
    """The producer sent nothing for ``STALL_LIMIT_S`` with messages waiting."""


async def flush_all(
    buffer: Any, *, report_s: float = STALL_REPORT_S, limit_s: float = STALL_LIMIT_S
) -> None:
    """Wait until Faust's producer buffer has handed every message to the producer (the
    producer's own flush, which Faust awaits next, then waits for the broker's acks).
    Like Faust's, it refuses to wait on a buffer that is not running; unlike Faust's, a
    pause in sending is waited out — said every ``report_s`` — and after ``limit_s``
    with no message sent it raises :class:`ProducerStalled`, so that no commit is made
    past the messages still waiting (a crash: the records are read again)."""
    stalled = 0.0
    while buffer.size:
        if buffer.state != "running":
            raise RuntimeError("Cannot flush: Producer not Running")
        buffer.message_sent.clear()  # (no await since size was read: no send in between)
        try:
            await asyncio.wait_for(buffer.message_sent.wait(), timeout=report_s)
            stalled = 0.0
        except TimeoutError:
            stalled += report_s
            if stalled >= limit_s:
                raise ProducerStalled(
                    f"the producer sent nothing for {stalled:g} s with {buffer.size} "
                    "message(s) waiting; no offsets are committed past them"
                ) from None
            log.warning("producer_flush_waiting", pending=buffer.size, stalled_s=stalled)


#: Faust's own flush (what :func:`drain_before_commit` replaces; the seam test runs it).
FAUST_FLUSH: Final = ProducerBuffer.flush


def drain_before_commit() -> None:
    """Make every Faust producer buffer's flush (the one Faust awaits before committing
    offsets, and on stop) wait for all its messages: :func:`flush_all`."""
    ProducerBuffer.flush = flush_all  # type: ignore[method-assign,assignment]


_ORIGINAL: dict[str, Any] = {}
