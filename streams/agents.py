"""The Faust agent: Kafka I/O around the fold process (streams/fold_process.py), which
runs :class:`~streams.processing.Batch`; nothing else."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from functools import partial
from typing import Any, Final

import faust

from folds.registry import Aggregate
from infra import metrics
from infra.clients import start_offsets
from infra.connection import Connection
from infra.logs import get_logger
from infra.progress import Progress
from infra.settings import Settings
from infra.topics import KIND_HEADER, REASON_HEADER, SOURCE_HEADER, TIMELINE_TABLE, Topics
from streams.compat import (
    ChangelogWriter,
    CommitWhenCaughtUp,
    before_flush,
    stop_without_committing,
    tolerant_table,
)
from streams.continuity import Continuity
from streams.fold_process import Carried, FoldProcess
from streams.processing import Verdict
from streams.watchdog import restart

__all__ = ["register_agents"]

log = get_logger(__name__)


class Outlets:
    """The topics the agent writes to: dead letters, re-keyed events, alerts."""

    def __init__(self, app: faust.App, topics: Topics, partitions: int) -> None:
        raw: dict[str, Any] = {"key_serializer": "raw", "value_serializer": "raw"}
        self.events = app.topic(topics.events, partitions=partitions, **raw)
        self.dead_letter = app.topic(topics.dead_letter, partitions=1, **raw)
        self._app = app

    async def carry_out(self, outcome: Carried | None, message: Any) -> None:
        """Send what ``outcome`` asks for: alerts, a dead letter, a re-keyed record
        (None: an event folded with no alert, the common case)."""
        if outcome is None:
            metrics.FOLDED.inc()
            return
        where = f"{message.topic}:{message.partition}:{message.offset}"
        bound = log.bind(topic=message.topic, partition=message.partition, offset=message.offset)
        # Timers the record let fire come first, even if the record itself is refused.
        for topic, key, value, at_s, rule, alert_id in outcome.alerts:
            metrics.ALERTS.labels(rule).inc()
            # Straight to Faust's producer: the bytes are ready, and a topic's channel
            # layer (future and pending message, sensors, a done-callback) took ~14 % of
            # the worker's time. The flush before a commit waits for these too
            # (tests/unit/test_dependency_seams.py).
            await self._app.producer.send(topic, key, value, None, at_s, None)
            bound.info("alert_raised", alert_id=alert_id, rule=rule)
        for key, value, reason, offset in outcome.set_aside:
            # Folded earlier (at ``offset`` of this partition), found now to have done
            # nothing: a retraction or correction whose act never came.
            metrics.DEAD_LETTERS.labels("unmatched").inc()
            source = f"{message.topic}:{message.partition}:{offset}"
            await self.dead_letter.send(
                key=key,
                value=value,
                headers=[
                    (REASON_HEADER, reason.encode()),
                    (SOURCE_HEADER, source.encode()),
                    (KIND_HEADER, b"unmatched"),
                ],
            )
            bound.warning("record_set_aside", source=source, reason=reason)
        verdict = Verdict(outcome.verdict)
        if verdict is Verdict.DEAD_LETTER:
            metrics.DEAD_LETTERS.labels(outcome.kind).inc()
            await self.dead_letter.send(
                key=message.key,
                value=message.value,
                headers=[
                    (REASON_HEADER, outcome.reason.encode()),
                    (SOURCE_HEADER, where.encode()),
                    (KIND_HEADER, outcome.kind.encode()),
                ],
            )
            bound.warning("record_dead_lettered", reason=outcome.reason)
        elif verdict is Verdict.REKEY:
            # State lives in the dyad's partition: send the record there, once.
            await self.events.send(
                key=outcome.dyad.encode(),
                value=message.value,
                timestamp=outcome.at_s,
                headers=[(SOURCE_HEADER, where.encode())],
            )
            bound.warning("record_rekeyed", event_id=outcome.event_id, key=message.key)
        elif outcome.event_id and outcome.duplicate:
            metrics.DUPLICATES.inc()
            bound.info("event_duplicate_skipped", event_id=outcome.event_id, why=outcome.duplicate)
        elif outcome.event_id:
            metrics.FOLDED.inc()


#: Tries (2 s apart) to read the committed offsets after a start or a rebalance.
SEED_ATTEMPTS: Final = 30

#: Batches sent to the fold process and not yet carried out, at most.
IN_FLIGHT: Final = 8


class Pipeline:
    """The agent's side of the fold process (streams/fold_process.py).

    :meth:`submit` sends a batch's raw records and returns (Faust then acks them and
    reads on) unless ``IN_FLIGHT`` batches are out. The answers are carried out in
    order by :meth:`run` — alerts, dead letters, re-keyed records, progress. Before Faust
    commits (its producer's flush: streams/compat.py::before_flush), :meth:`write_back`
    asks the process for the values moved since the last write-back: the answer comes
    after every batch sent before it, and is sent after their outcomes, so the alerts and
    the changelog are never behind a commit. A dyad costs one changelog write per commit,
    however many batches moved it. The table holds each value as the bytes written, from
    which the fold process restores a partition's engine after a rebalance."""

    def __init__(self, app: faust.App, table: Any, outlets: Outlets, progress: Progress) -> None:
        self.app, self.table, self.outlets, self.progress = app, table, outlets, progress
        self.writer = ChangelogWriter(app, table)
        self.process: FoldProcess | None = None
        self._answers: asyncio.Queue[Any] = asyncio.Queue()
        self._slots = asyncio.Semaphore(IN_FLIGHT)
        self._in_flight: dict[int, list[Any]] = {}
        self._cuts: dict[int, asyncio.Future[None]] = {}
        self._seq = 0
        self._restore = True  # the table's items go first: engines restore from them
        self._failed: str | None = None
        self.task: asyncio.Future[None] | None = None  # :meth:`run`'s (kept: not collected)
        #: Offsets delivered per partition: a skipped record stops the worker.
        self.continuity = Continuity()

    def start(self, process: FoldProcess) -> None:
        self.process = process
        process.start()

    def forget(self) -> None:
        """A rebalance: the process drops its engines and restores them from the table."""
        if self.process is not None:
            self.process.send(("forget",))
        self._restore = True
        self.continuity.reset()

    async def submit(self, records: list[Any]) -> None:
        """Send a batch (raises :class:`CannotFold` if the process is gone)."""
        self._alive()
        await self._slots.acquire()
        process = self._alive()
        if self._restore:
            process.send(("items", list(self.table.data.items())))
            self._restore = False
        messages = [record.message for record in records]
        self._seq += 1
        self._in_flight[self._seq] = messages
        rows = [(m.key, m.value, m.timestamp, m.partition, m.offset) for m in messages]
        process.send(("batch", self._seq, rows))

    async def write_back(self) -> None:
        """Ask for the values moved since the last write-back and send them (none once
        the fold process is gone: the worker then commits nothing and stops)."""
        if self.process is None or self._failed is not None:
            return  # not started (nothing folded), or gone (no commit follows)
        process = self._alive()
        self._seq += 1
        cut = self._cuts[self._seq] = asyncio.get_running_loop().create_future()
        process.send(("cut", self._seq))
        await cut

    def answer(self, message: Any) -> None:
        """An answer of the fold process (on the loop)."""
        self._answers.put_nowait(message)

    def failed(self, reason: str) -> None:
        """Nothing more folds here (the fold process is gone, or records were skipped):
        a batch or a write-back waiting is told, and every later one."""
        self._failed = reason
        for cut in self._cuts.values():
            if not cut.done():
                cut.set_exception(CannotFold(reason))
        for _ in range(IN_FLIGHT):  # wake a submit waiting for a slot: it finds this
            self._slots.release()
        self._answers.put_nowait(("failed", 0, reason))

    def halt(self, reason: str) -> None:
        """Fold no more and commit nothing more (the fold process died, or records were
        skipped); the agent then stops the worker (exit code 75), to be restarted."""
        stop_without_committing(self.app)  # first, before anything else on the loop
        self.failed(reason)

    async def check(
        self, records: list[Any], starts: Callable[[], Awaitable[dict[int, int]]]
    ) -> None:
        """Halt if the consumer skipped records before or in ``records``
        (streams/continuity.py). After a start or a rebalance, first read where each
        partition starts (``starts``: the committed offsets); the broker answered a
        moment ago (a batch came), so retry a while, then halt rather than fold on
        unchecked (a crash here would let Faust ack the batch in hand)."""
        why = ""
        for attempt in range(0 if self.continuity.seeded else SEED_ATTEMPTS):
            try:
                self.continuity.expect(await starts())
                break
            except Exception as exc:
                why = f"{type(exc).__name__}: {exc!s:.300}"
                log.warning("committed_offsets_unread", attempt=attempt + 1, reason=why)
                await asyncio.sleep(2.0)
        if not self.continuity.seeded:
            self.halt(f"the committed offsets could not be read: {why}")
            return
        delivered = ((r.message.partition, r.message.offset) for r in records)
        if (skipped := self.continuity.skipped(delivered)) is not None:
            # Folding on would fold past records never seen, and commit them.
            log.error("records_skipped", reason=skipped)
            self.halt(f"the consumer skipped records: {skipped}")

    async def consume(
        self,
        batches: AsyncIterator[list[Any]],
        starts: Callable[[], Awaitable[dict[int, int]]],
        batch_done: Callable[[int], None],
        restart: Callable[[str], None],
    ) -> None:
        """The agent's loop: check each batch, send it to the fold process. On any
        failure, halt (commit nothing more), have ``restart`` stop the worker, and wait
        for that stop to cancel the agent. Never let an exception out: Faust's
        ``take_events`` acks the batch in hand when the agent's loop ends, and its next
        commit would pass records never folded (tests/unit/test_commit_seams.py); and a
        crashed agent that Faust restarts in the middle of the stop hung it until the
        watchdog's backstop (30 s; seen once in six kills)."""
        try:
            async for records in batches:
                await self.check(records, starts)
                await self.submit(records)  # (raises CannotFold once halted)
                batch_done(len(records))
        except Exception as exc:
            self._failing(exc, "agent_failed", restart)
            await asyncio.get_running_loop().create_future()

    async def run(self, restart: Callable[[str], None]) -> None:
        """Carry out the answers, in order, until the fold process fails; on any failure
        halt and have ``restart`` stop the worker. Faust has acked the batches in flight
        (they were sent): a graceful stop would commit them with their alerts unsent, or
        wait on a write-back nothing answers any more."""
        try:
            while True:
                kind, seq, payload = await self._answers.get()
                if kind == "done":
                    outcomes, seconds = payload
                    metrics.FOLD_SECONDS.observe(seconds)
                    await self._carry_out(self._in_flight.pop(seq), outcomes)
                    self._slots.release()
                elif kind == "cut":
                    await self._send_writes(payload)
                    cut = self._cuts.pop(seq)
                    if not cut.done():  # (failed already: the process died after answering)
                        cut.set_result(None)
                else:
                    raise CannotFold(payload)
        except Exception as exc:
            self._failing(exc, "outcomes_not_carried_out", restart)

    def _failing(self, exc: Exception, event: str, restart: Callable[[str], None]) -> None:
        """Halt on ``exc`` (logged as ``event``) unless halted already (CannotFold), then
        have ``restart`` stop the worker. Not a record's fault (those are dead-lettered):
        the broker, the producer, a defect."""
        reason = f"{type(exc).__name__}: {exc!s:.300}"
        if not isinstance(exc, CannotFold):
            log.exception(event, reason=reason)
            self.halt(reason)
        restart(reason)

    async def _carry_out(self, messages: list[Any], outcomes: list[Carried | None]) -> None:
        offsets: dict[tuple[str, int], int] = {}
        for message, outcome in zip(messages, outcomes, strict=True):
            await self.outlets.carry_out(outcome, message)
            offsets[(message.topic, message.partition)] = message.offset + 1
        self.progress.batch_done(offsets)

    async def _send_writes(self, writes: list[tuple[int, str, bytes, bytes | None]]) -> None:
        for partition, key, raw_key, raw_value in writes:  # the table keeps the bytes
            await self.writer.write(partition, key, raw_key, raw_value)

    def _alive(self) -> FoldProcess:
        if self._failed is not None or self.process is None:
            raise CannotFold(self._failed or "the fold process was not started")
        return self.process


class CannotFold(RuntimeError):
    """The worker cannot fold on — its fold process ended, or the consumer skipped records
    (streams/continuity.py) — so it stops, to be restarted from its last commit."""


def register_agents(
    app: faust.App,
    settings: Settings,
    connection: Connection,
    topics: Topics,
    aggregates: Sequence[Aggregate],
    progress: Progress,
) -> dict[str, Any]:
    """Declare the topics, the timeline table and the folding agent on ``app``; return
    the tables by name. The agent folds in a process of its own (started with it) and
    reports to ``progress``."""
    outlets = Outlets(app, topics, settings.partitions)
    # One table: each dyad's log, with every fold's current state in it (one write per
    # touched dyad per commit), and each partition's watermark.
    timeline = tolerant_table(
        app.Table(
            topics.table(TIMELINE_TABLE),
            default=None,
            partitions=settings.partitions,
            help="dyad logs (folds' states, retained events, standing alerts), watermarks",
        )
    )
    pipeline = Pipeline(app, timeline, outlets, progress)
    caught_up = CommitWhenCaughtUp(app, settings.batch_size, settings.caught_up_commit_s)
    starts = partial(start_offsets, connection, settings.app_id, topics.events, settings.partitions)

    @app.on_rebalance_complete.connect  # type: ignore[arg-type]
    async def forget_engines(sender: Any, **_: Any) -> None:
        # The revocation before it flushed the producer, so wrote every value back.
        pipeline.forget()

    @app.on_partitions_revoked.connect  # type: ignore[arg-type]
    async def reset_continuity(sender: Any, *_: Any, **__: Any) -> None:
        # Each partition is read again from its committed offset once assigned.
        pipeline.continuity.reset()

    @app.agent(outlets.events, name="dipwatch.fold", concurrency=1)
    async def fold_events(stream: faust.StreamT[Any]) -> None:
        batches = stream.take_events(settings.batch_size, within=settings.batch_within_s)  # type: ignore[attr-defined]
        if pipeline.process is None:  # (not again if Faust restarts the agent)
            loop = asyncio.get_running_loop()
            pipeline.start(FoldProcess(settings, aggregates, loop, pipeline.answer, pipeline.halt))
            pipeline.task = asyncio.ensure_future(pipeline.run(partial(restart, progress)))
        before_flush(app.producer, pipeline.write_back)
        await pipeline.consume(batches, starts, caught_up.batch_done, partial(restart, progress))

    return {TIMELINE_TABLE: timeline}
