"""The Faust agent: Kafka I/O around :class:`~streams.processing.Batch`, nothing else."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import faust

from folds.base import Fold
from infra import metrics
from infra.logs import get_logger
from infra.progress import Progress
from infra.settings import Settings
from infra.topics import REASON_HEADER, SOURCE_HEADER, TIMELINE_TABLE, Topics
from schemas.codec import encode_alert
from streams.compat import ChangelogWriter, CommitWhenCaughtUp, before_flush, tolerant_table
from streams.processing import Batch, Outcome, Partitions, Verdict

__all__ = ["register_agents"]

log = get_logger(__name__)


class Outlets:
    """The topics the agent writes to: dead letters, re-keyed events, alerts."""

    def __init__(self, app: faust.App, topics: Topics, partitions: int) -> None:
        raw: dict[str, Any] = {"key_serializer": "raw", "value_serializer": "raw"}
        self.events = app.topic(topics.events, partitions=partitions, **raw)
        self.dead_letter = app.topic(topics.dead_letter, partitions=1, **raw)
        #: Alerts go straight to the producer (below): their topics by aggregate.
        self.alerts = {name: topics.alerts(name) for name in topics.aggregate_names}
        self._app = app

    async def carry_out(self, outcome: Outcome, message: Any) -> None:
        """Send what ``outcome`` asks for: a dead letter, a re-keyed record, alerts."""
        if outcome.verdict is Verdict.FOLDED and not outcome.alerts and not outcome.duplicate:
            if outcome.event is not None:  # the common case: nothing to send or to log
                metrics.FOLDED.inc()
            return
        where = f"{message.topic}:{message.partition}:{message.offset}"
        bound = log.bind(topic=message.topic, partition=message.partition, offset=message.offset)
        # Timers the record let fire come first, even if the record itself is refused.
        for alert in outcome.alerts:
            metrics.ALERTS.labels(alert.rule).inc()
            # Straight to Faust's producer: the bytes are ready, and a topic's channel
            # layer (future and pending message, sensors, a done-callback) took ~14 % of
            # the worker's time. The flush before a commit waits for these too
            # (tests/unit/test_dependency_seams.py).
            await self._app.producer.send(
                self.alerts[alert.aggregate],
                alert.dyad.encode(),
                encode_alert(alert),
                None,
                alert.at.timestamp(),
                None,
            )
            bound.info("alert_raised", alert_id=alert.alert_id, rule=alert.rule)
        if outcome.verdict is Verdict.DEAD_LETTER:
            metrics.DEAD_LETTERS.labels(outcome.kind).inc()
            await self.dead_letter.send(
                key=message.key,
                value=message.value,
                headers=[(REASON_HEADER, outcome.reason.encode()), (SOURCE_HEADER, where.encode())],
            )
            bound.warning("record_dead_lettered", reason=outcome.reason)
        elif outcome.verdict is Verdict.REKEY:
            # State lives in the dyad's partition: send the record there, once.
            assert outcome.event is not None
            await self.events.send(
                key=outcome.dyad.encode(),
                value=message.value,
                timestamp=outcome.event.occurred_at.timestamp(),
                headers=[(SOURCE_HEADER, where.encode())],
            )
            bound.warning("record_rekeyed", event_id=outcome.event.event_id, key=message.key)
        elif outcome.event is not None and outcome.duplicate:
            metrics.DUPLICATES.inc()
            bound.info(
                "event_duplicate_skipped", event_id=outcome.event.event_id, why=outcome.duplicate
            )
        elif outcome.event is not None:
            metrics.FOLDED.inc()


class WriteBack:
    """Writes back each value that moved — :meth:`Partitions.writes`, a consistent cut —
    before Faust commits the offsets that moved it (its producer's flush awaits this:
    streams/compat.py::before_flush). So a dyad costs one changelog write per commit,
    however many batches touched it, and the changelog is never behind a commit. One
    write-back at a time: a later cut must not reach the producer before an earlier."""

    def __init__(self, partitions: Partitions, writer: ChangelogWriter) -> None:
        self.partitions, self.writer = partitions, writer
        self._lock = asyncio.Lock()

    async def __call__(self) -> None:
        async with self._lock:
            prepare = self.writer.prepare  # each record made now, from the cut
            records = [prepare(*write) for write in self.partitions.writes()]
            for record in records:
                await self.writer.send(record)


async def fold_batch(
    records: list[Any], partitions: Partitions, outlets: Outlets, progress: Progress
) -> None:
    """Process one batch of records in order (the values they move are written back
    before the next commit: :class:`WriteBack`)."""
    batch = Batch(partitions)
    offsets: dict[tuple[str, int], int] = {}
    with metrics.FOLD_SECONDS.time():
        for record in records:
            message = record.message
            outcome = batch.process(
                message.key, message.value, message.timestamp, message.partition, message.offset
            )
            await outlets.carry_out(outcome, message)
            offsets[(message.topic, message.partition)] = message.offset + 1
    progress.batch_done(offsets)


def register_agents(
    app: faust.App,
    settings: Settings,
    topics: Topics,
    folds: Sequence[Fold[Any]],
    progress: Progress,
) -> dict[str, Any]:
    """Declare the topics, the timeline table and the folding agent on ``app``; return
    the tables by name. The agent reports to ``progress``."""
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
    partitions = Partitions(folds, settings.allowed_lateness_days, timeline.items)
    write_back = WriteBack(partitions, ChangelogWriter(app, timeline))
    caught_up = CommitWhenCaughtUp(app, settings.batch_size, settings.caught_up_commit_s)

    @app.on_rebalance_complete.connect  # type: ignore[arg-type]
    async def forget_engines(sender: Any, **_: Any) -> None:
        # The revocation before it flushed the producer, so wrote every value back.
        partitions.forget()

    @app.agent(outlets.events, name="dipwatch.fold", concurrency=1)
    async def fold_events(stream: faust.StreamT[Any]) -> None:
        batches = stream.take_events(settings.batch_size, within=settings.batch_within_s)  # type: ignore[attr-defined]
        before_flush(app.producer, write_back)
        try:
            async for records in batches:
                await fold_batch(records, partitions, outlets, progress)
                caught_up.batch_done(len(records))
        except Exception as exc:
            # Not a record's fault (those are dead-lettered): the broker or a table.
            # Faust logs the crash; /healthz must say it too, until a restart.
            progress.crashed = f"{type(exc).__name__}: {exc!s:.300}"
            raise

    return {TIMELINE_TABLE: timeline}
