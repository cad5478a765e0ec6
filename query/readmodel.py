"""The query side: every worker's own copy of all dyads' state, read from the changelogs.

A Faust table holds only the partitions its worker owns, and ``@app.table_route``, which
forwards a request to the owner, returns defaults instead of the owner's value
(faust-streaming #514). The read model avoids routing altogether: it follows every
partition of the aggregates' changelog topics and alert topics with a plain consumer (no
group), keeps the latest state per dyad without its dedup digests, and so answers the
same on every worker — seconds behind the folds at most, and never ahead of them.

It also follows the events topic to fold the weekly conflict history of each dyad for
the charts (a query-side projection: the tension state does not carry it).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import OrderedDict
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError
from pydantic import ValidationError

from folds.base import Fold, StateModel
from folds.guard import DEDUP_HORIZON_DAYS
from folds.history import ConflictHistory
from folds.stored import is_chunk_key
from folds.tension import TensionFold
from infra import metrics
from infra.clients import plain_consumer
from infra.connection import Connection
from infra.logs import get_logger
from infra.topics import Topics
from query.chart import Chart
from schemas.alerts import Alert
from schemas.codec import decode_alert
from schemas.errors import InvalidRecord
from schemas.events import ALLOWED_LATENESS_DAYS, EPOCH

__all__ = ["ReadModel"]

log = get_logger(__name__)

#: Alerts a live subscriber may fall behind by before it is dropped.
_SUBSCRIBER_BACKLOG = 1000


class ReadModel:
    """Latest state per aggregate and dyad, recent alerts, and live alert subscribers."""

    def __init__(
        self,
        folds: tuple[Fold[Any], ...],
        topics: Topics,
        app_id: str,
        max_alerts: int = 2000,
        horizon_days: int = DEDUP_HORIZON_DAYS,
        lateness_days: float = ALLOWED_LATENESS_DAYS,
    ) -> None:
        self.folds = {f.name: f for f in folds}
        self.states: dict[str, dict[str, StateModel]] = {f.name: {} for f in folds}
        self.max_alerts = max_alerts
        tension = self.folds.get("tension")
        history = ConflictHistory(tension.config if isinstance(tension, TensionFold) else None)
        #: Each pair's weekly conflict history, for the charts.
        self.chart = Chart(history, horizon_days, lateness_days, topics.events)
        #: Records skipped because they could not be read, by topic.
        self.unreadable: dict[str, int] = {}
        self._alerts: OrderedDict[str, Alert] = OrderedDict()
        #: Alert id -> the id of the alert that withdrew it (while it stays withdrawn).
        self.withdrawn: dict[str, str] = {}
        self._subscribers: set[asyncio.Queue[Alert | None]] = set()
        self._changelog = topics.changelog(app_id)
        self._events = topics.events
        self._dead_letter = topics.dead_letter
        self._names = (self._changelog, *topics.all_alerts, topics.events, topics.dead_letter)
        self._ends: dict[TopicPartition, int] | None = None
        self.caught_up = asyncio.Event()

    # -- applying records -------------------------------------------------------

    def on_changelog(self, key: bytes | None, value: bytes | None) -> None:
        """Keep each fold's state from a dyad log of the timeline changelog (its
        ``head``); a tombstone or a log with nothing to say forgets the dyad; partition
        watermarks (``~`` keys) are not states. A record that cannot be read is skipped
        with a logged reason and counted, never fatal."""
        if key is None:
            return
        try:
            dyad = json.loads(key)
            if not isinstance(dyad, str) or dyad.startswith("~") or is_chunk_key(dyad):
                return  # a partition's watermark, or a chunk of a dyad's retained events
            head = json.loads(value)["head"] if value is not None else None
            states = (
                {n: f.state_type.model_validate(head[n]) for n, f in self.folds.items()}
                if head is not None
                else {}
            )
        except (ValueError, TypeError, KeyError, RecursionError, ValidationError) as exc:
            self._unreadable(self._changelog, repr(exc)[:200])
            return
        for name, table in self.states.items():
            if name in states:
                table[dyad] = states[name]
            else:
                table.pop(dyad, None)

    def act_of(self, event_id: str) -> tuple[str, datetime, datetime] | None:
        """The pair and day of the act ``event_id`` and the day of its pair's latest
        event, if this model has read the act from the events topic (within
        ``DIPWATCH_DEDUP_HORIZON_DAYS`` of its pair's latest act: query/acts.py)."""
        found = self.chart.acts.get(event_id)
        if found is None:
            return None
        dyad, day = found
        guard = self.chart.histories.get(dyad)
        latest = max(day, guard.clock or day) if guard is not None else day
        return dyad, EPOCH + timedelta(days=day), EPOCH + timedelta(days=latest)

    def history_points(self, dyad: str, until: datetime | None = None) -> list[tuple[Any, float]]:
        """The dyad's conflict score sampled weekly in event time, decay included, up to
        ``until`` (the dyad's tension state's time, i.e. its watermark)."""
        guard = self.chart.histories.get(dyad)
        return self.chart.history.points(guard.state, until) if guard is not None else []

    def _unreadable(self, topic: str, reason: str) -> None:
        self.unreadable[topic] = self.unreadable.get(topic, 0) + 1
        metrics.READ_MODEL_SKIPPED.labels(topic).inc()
        log.warning("read_model_record_skipped", topic=topic, reason=reason)

    def on_alert(self, value: bytes | None) -> Alert | None:
        """Keep an alert (once per id) and hand it to live subscribers; None if known."""
        if value is None:
            return None
        try:
            alert = decode_alert(value)
        except InvalidRecord as exc:
            log.warning("alert_unreadable", reason=exc.reason)
            return None
        if alert.withdraws is not None:
            self.withdrawn[alert.withdraws] = alert.alert_id
        elif alert.alert_id in self.withdrawn:
            del self.withdrawn[alert.alert_id]  # raised again (a revised alert)
        elif self._alerts.get(alert.alert_id) == alert:
            return None  # a redelivery after a worker restart: same id, same body
        self._alerts[alert.alert_id] = alert
        self._alerts.move_to_end(alert.alert_id)
        while len(self._alerts) > self.max_alerts:
            self._alerts.popitem(last=False)
        self._hand_out(alert)
        return alert

    def _hand_out(self, item: Alert | None) -> None:
        for queue in list(self._subscribers):
            try:
                queue.put_nowait(item)
            except asyncio.QueueFull:
                # A client that stopped reading: drop it rather than buffer forever;
                # its stream ends and an EventSource reconnects and reloads.
                self._subscribers.discard(queue)
                log.warning("alert_subscriber_dropped", backlog=queue.qsize())

    def alerts(self) -> list[Alert]:
        """The kept alerts, newest event time first."""
        return sorted(self._alerts.values(), key=lambda a: (a.at, a.alert_id), reverse=True)

    @contextlib.contextmanager
    def subscribe(self) -> Iterator[asyncio.Queue[Alert | None]]:
        """A queue that receives every alert read from now on, while the block runs, and
        None whenever dyads' states moved (a worker writes them back before its commits,
        so after the alerts that came with them: a page reloads the states then)."""
        queue: asyncio.Queue[Alert | None] = asyncio.Queue(maxsize=_SUBSCRIBER_BACKLOG)
        self._subscribers.add(queue)
        try:
            yield queue
        finally:
            self._subscribers.discard(queue)

    @property
    def subscribers(self) -> int:
        """Live alert subscribers now."""
        return len(self._subscribers)

    def subscribed(self, queue: asyncio.Queue[Alert | None]) -> bool:
        """Whether ``queue`` still receives alerts (a lagging one is dropped)."""
        return queue in self._subscribers

    # -- following the topics ------------------------------------------------------

    async def run(self, target: Connection | str) -> None:
        """Follow the changelogs and alert topics from the beginning until cancelled.

        Subscribed without a group, the consumer is assigned every partition of every
        topic, from the earliest offset; a topic created later (a changelog Faust makes
        at its start) joins at the next metadata refresh, from its beginning too."""
        consumer = plain_consumer(
            target,
            *self._names,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=100,
            metadata_max_age_ms=5000,
            max_partition_fetch_bytes=4 * 1024 * 1024,
        )
        await consumer.start()
        measured = 0.0
        try:
            while True:
                batch = await consumer.getmany(timeout_ms=500, max_records=5000)
                for tp, records in batch.items():
                    self._on_records(tp.topic, records)
                if time.monotonic() - measured > 1.0:
                    metrics.READ_MODEL_LAG.set(await _lag(consumer))
                    measured = time.monotonic()
                if not self.caught_up.is_set():
                    await self._check_caught_up(consumer)
        finally:
            with contextlib.suppress(KafkaError, OSError, TimeoutError):
                await consumer.stop()

    def _on_records(self, topic: str, records: list[Any]) -> None:
        if topic == self._changelog:
            for record in records:
                self.on_changelog(record.key, record.value)
            if records:
                self._hand_out(None)  # states moved
            return
        for record in records:
            if topic == self._events:
                at_s = record.timestamp / 1000
                self.chart.on_event(record.key, record.value, at_s, record.partition, record.offset)
            elif topic == self._dead_letter:
                self.chart.on_dead_letter(record.headers)
            else:
                self.on_alert(record.value)

    async def _check_caught_up(self, consumer: AIOKafkaConsumer) -> None:
        """Ready once every topic is assigned and read up to where it ended when it was."""
        assigned = consumer.assignment()
        if {tp.topic for tp in assigned} != set(self._names):
            return
        if self._ends is None:
            self._ends = await consumer.end_offsets(list(assigned))
            log.info("read_model_assigned", partitions=len(assigned))
        for tp, end in self._ends.items():
            if await consumer.position(tp) < end:
                return
        self.caught_up.set()
        log.info("read_model_caught_up", dyads=len(self.states.get("tension", {})))


async def _lag(consumer: AIOKafkaConsumer) -> int:
    """Records of the assigned partitions not read yet (highwaters from the last fetch)."""
    total = 0
    for tp in consumer.assignment():
        end = consumer.highwater(tp)
        if end is not None:
            total += max(end - await consumer.position(tp), 0)
    return total
