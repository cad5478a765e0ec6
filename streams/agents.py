"""The Faust agent: Kafka I/O around :class:`~streams.processing.Batch`, nothing else."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import faust

from folds.base import Fold
from folds.engine import Engine
from infra import metrics
from infra.logs import get_logger
from infra.progress import Progress
from infra.settings import Settings
from infra.topics import REASON_HEADER, SOURCE_HEADER, TIMELINE_TABLE, Topics
from schemas.codec import encode_alert
from streams.compat import ChangelogWriter, tolerant_table
from streams.processing import Batch, Outcome, Verdict
from streams.restore import restore_engine

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


class Engines:
    """Each owned partition's engine, restored from the timeline table on first use and
    forgotten at every rebalance (another worker may have folded the partition since)."""

    def __init__(
        self, folds: Sequence[Fold[Any]], lateness_days: float, timeline: Any, app: faust.App
    ) -> None:
        self.folds, self.lateness_days, self.timeline = folds, lateness_days, timeline
        self.engines: dict[int, Engine] = {}
        #: Writes the timeline's values back (changelog record, then the store).
        self.writer = ChangelogWriter(app, timeline)

    def __call__(self, partition: int) -> Engine:
        if partition not in self.engines:
            self.engines[partition] = restore_engine(
                self.folds, self.lateness_days, partition, self.timeline.items()
            )
        return self.engines[partition]


async def fold_batch(
    records: list[Any], engines: Engines, outlets: Outlets, progress: Progress
) -> None:
    """Process one batch of records in order, then write each touched dyad log once."""
    batch = Batch(engines)
    offsets: dict[tuple[str, int], int] = {}
    with metrics.FOLD_SECONDS.time():
        for record in records:
            message = record.message
            outcome = batch.process(
                message.key, message.value, message.timestamp, message.partition, message.offset
            )
            await outlets.carry_out(outcome, message)
            offsets[(message.topic, message.partition)] = message.offset + 1
        for partition, key, value in batch.writes():
            # In the partition of the records that moved it (see streams/compat.py).
            if value is not None:
                await engines.writer.set(partition, key, value)
            else:  # a spent chunk: a tombstone
                await engines.writer.delete(partition, key)
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
    # touched dyad per batch), and each partition's watermark.
    timeline = tolerant_table(
        app.Table(
            topics.table(TIMELINE_TABLE),
            default=None,
            partitions=settings.partitions,
            help="dyad logs (folds' states, retained events, standing alerts), watermarks",
        )
    )
    engines = Engines(folds, settings.allowed_lateness_days, timeline, app)

    @app.on_rebalance_complete.connect  # type: ignore[arg-type]
    async def forget_engines(sender: Any, **_: Any) -> None:
        engines.engines.clear()

    @app.agent(outlets.events, name="dipwatch.fold", concurrency=1)
    async def fold_events(stream: faust.StreamT[Any]) -> None:
        # Batches: a dyad touched n times in a batch costs one changelog write, not n.
        batches = stream.take_events(settings.batch_size, within=settings.batch_within_s)  # type: ignore[attr-defined]
        try:
            async for records in batches:
                await fold_batch(records, engines, outlets, progress)
        except Exception as exc:
            # Not a record's fault (those are dead-lettered): the broker or a table.
            # Faust logs the crash; /healthz must say it too, until a restart.
            progress.crashed = f"{type(exc).__name__}: {exc!s:.300}"
            raise

    return {TIMELINE_TABLE: timeline}
