"""Faust's commits, as the worker relies on them: what runs before each (the producer's
flush, which writes the values back and waits for every buffered message), when a
caught-up worker commits, and how a worker whose fold is gone commits nothing.

If faust-streaming or aiokafka changes them, these fail before the worker does.
"""

from __future__ import annotations

import asyncio
import inspect
from types import SimpleNamespace
from typing import Any

import pytest
from faust.types import TP

from infra.settings import Settings
from streams.app import create_app
from streams.compat import (
    FAUST_FLUSH,
    ProducerStalled,
    drain_before_commit,
    flush_all,
)


async def _flushed_with_a_slow_producer(flush: Any, send_s: float = 0.15) -> int:
    """Buffer three messages behind a producer that takes ``send_s`` to send each (a
    broker slow to take a batch), flush with ``flush``; return how many were still
    waiting."""
    from faust.transport.producer import ProducerBuffer

    buffer = ProducerBuffer()
    buffer.app = SimpleNamespace(conf=SimpleNamespace(producer_threaded=False))  # type: ignore[assignment]
    sent: list[object] = []

    async def slow_send(message: object) -> None:
        await asyncio.sleep(send_s)
        sent.append(message)

    buffer._send_pending = slow_send  # type: ignore[method-assign]
    await buffer.start()
    try:
        for _ in range(3):
            buffer.put(object())  # type: ignore[arg-type]
        await flush(buffer)
        return buffer.size
    finally:
        await flush_all(buffer)  # the rest out before stopping (a stop flushes too)
        await buffer.stop()


def test_faust_flushes_its_producer_buffer_before_it_commits() -> None:
    from faust.transport.consumer import Consumer
    from faust.transport.drivers.aiokafka import Producer

    assert "await self.app.producer.flush()" in inspect.getsource(Consumer._commit_offsets)
    assert "await self.buffer.flush()" in inspect.getsource(Producer.flush)


def test_every_commit_revocation_and_stop_flushes_the_apps_producer_through_its_attribute() -> None:
    """streams/compat.py::before_flush replaces the flush of the app's producer object, so
    the worker's values are written back before each of these: Faust must reach the flush
    through that object's attribute (an instance attribute then wins) every time."""
    from faust.app.base import App
    from faust.transport.consumer import Consumer

    assert "await self.app.producer.flush()" in inspect.getsource(Consumer._commit_offsets)
    assert "await self._producer.flush()" in inspect.getsource(App._producer_flush)
    revoked = inspect.getsource(App._on_partitions_revoked)
    assert revoked.index("_consumer_wait_empty") < revoked.index("_producer_flush")
    assert "await self._producer_flush(self.log)" in inspect.getsource(App.on_stop)


def test_the_hook_before_the_flush_runs_first_and_is_replaced_not_stacked() -> None:
    from faust.transport.drivers.aiokafka import Producer

    from streams.compat import before_flush

    order: list[str] = []

    async def run() -> None:
        app = create_app(Settings(), "127.0.0.1:9")
        producer = app.producer
        assert isinstance(producer, Producer)

        async def original() -> None:
            order.append("flush")

        producer.flush = original  # type: ignore[method-assign]

        async def first() -> None:
            order.append("first")

        async def second() -> None:
            order.append("second")

        before_flush(producer, first)
        before_flush(producer, second)  # a restarted agent registers again
        await producer.flush()

    asyncio.run(run())
    assert order == ["second", "flush"]


def test_what_the_agent_sends_straight_to_the_producer_is_flushed_before_a_commit() -> None:
    """Alerts go to Faust's producer, not through a topic's channel (streams/agents.py):
    positional (topic, key, value, partition, timestamp, headers), into aiokafka's
    accumulator, which the flush before a commit waits for after Faust's own buffer."""
    from faust.transport.drivers.aiokafka import Producer

    params = list(inspect.signature(Producer.send).parameters)
    assert params[:7] == ["self", "topic", "key", "value", "partition", "timestamp", "headers"]
    flush = inspect.getsource(Producer.flush)
    assert flush.index("await self.buffer.flush()") < flush.index("await self._producer.flush()")


def test_fausts_own_flush_returns_with_messages_still_waiting() -> None:
    """Why the wrapper exists: when this fails, Faust waits for every message itself."""
    assert asyncio.run(_flushed_with_a_slow_producer(FAUST_FLUSH)) > 0


def test_the_flush_before_a_commit_waits_for_every_buffered_message() -> None:
    from faust.transport.producer import ProducerBuffer

    drain_before_commit()
    assert ProducerBuffer.flush is flush_all
    assert asyncio.run(_flushed_with_a_slow_producer(ProducerBuffer.flush)) == 0


def test_a_producer_that_sends_nothing_for_too_long_stops_the_flush_and_the_commit() -> None:
    async def impatient(buffer: Any) -> None:
        await flush_all(buffer, report_s=0.05, limit_s=0.2)

    with pytest.raises(ProducerStalled, match=r"sent nothing for 0\.2 s with 2 message"):
        asyncio.run(_flushed_with_a_slow_producer(impatient, send_s=0.5))
    # A producer slower than the report interval but never stalled that long is waited for.
    assert asyncio.run(_flushed_with_a_slow_producer(impatient, send_s=0.12)) == 0


def test_a_caught_up_worker_commits_soon_once_a_running_commit_ends_and_not_too_often() -> None:
    """streams/compat.py::CommitWhenCaughtUp against Faust's consumer's own commit: a
    short batch commits after the one already running (Faust would skip a commit asked
    for then), a second short batch soon after gets one when the spacing has passed,
    and a full batch none."""
    from faust.transport.consumer import Consumer

    from streams.compat import CommitWhenCaughtUp

    # The two calls made are Faust's, with their guard for one commit at a time.
    assert "maybe_wait_for_commit_to_finish" in inspect.getsource(Consumer.commit)
    calls: list[tuple[str, float]] = []

    class Faustlike:  # Faust's commit guard (Consumer.commit), around a slow commit
        _commit_fut: asyncio.Future[None] | None = None
        maybe_wait_for_commit_to_finish = Consumer.maybe_wait_for_commit_to_finish

        async def commit(self) -> bool:
            if await self.maybe_wait_for_commit_to_finish():
                return False
            self._commit_fut = asyncio.get_running_loop().create_future()
            calls.append(("commit", asyncio.get_running_loop().time()))
            await asyncio.sleep(0.05)
            fut, self._commit_fut = self._commit_fut, None
            fut.set_result(None)
            return True

    async def run() -> float:
        consumer = Faustlike()
        loop = asyncio.get_running_loop()
        caught_up = CommitWhenCaughtUp(SimpleNamespace(consumer=consumer), 10, 0.2)
        running = asyncio.ensure_future(consumer.commit())  # Faust's own, before the acks
        await asyncio.sleep(0)
        start = loop.time()
        caught_up.batch_done(3)
        await asyncio.sleep(0.02)
        caught_up.batch_done(3)  # too soon: one more, later
        caught_up.batch_done(3)  # already scheduled
        caught_up.batch_done(10)  # a full batch: none
        await asyncio.sleep(0.5)
        await running
        return start

    start = asyncio.run(run())
    times = [t - start for _, t in calls]
    assert len(times) == 3, times  # Faust's, the caught-up one after it, the later one
    assert times[1] >= 0.045  # after the running commit ended (0.05 s)
    assert times[2] >= 0.19  # 0.2 s after the first caught-up commit began


def test_a_worker_whose_fold_is_gone_commits_nothing_and_stops_without_waiting() -> None:
    """streams/compat.py::stop_without_committing: every commit of Faust's consumer
    reaches the broker through ``_commit``, right after the flush (so a commit already
    under way when the fold died is refused too), aiokafka commits nothing of itself, and
    the stop's wait for unacked records is Faust's ``stream_wait_empty``."""
    from faust.transport.consumer import Consumer
    from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

    from streams.compat import _ORIGINAL, stop_without_committing

    commit = inspect.getsource(Consumer._commit_offsets)
    flush = commit.index("await self.app.producer.flush()")
    assert commit.index("await self._commit(committable_offsets)", flush) > flush
    assert commit.count("self._commit(") == 1
    assert "self.transactions" in commit  # (exactly-once is off: streams/app.py)
    assert "self.app.conf.stream_wait_empty" in inspect.getsource(Consumer.on_stop)
    create = _ORIGINAL.get("create", AIOKafkaConsumerThread._create_worker_consumer)
    assert "enable_auto_commit=False" in inspect.getsource(create)  # (set_fetch_wait wraps it)

    async def run() -> list[Any]:
        app = create_app(Settings(), "127.0.0.1:9")
        consumer = app.consumer
        committed: list[Any] = []

        class Thread:  # where Faust's aiokafka consumer sends a commit
            async def commit(self, offsets: Any) -> bool:
                committed.append(offsets)
                return True

        consumer._thread = Thread()  # type: ignore[attr-defined]
        offsets = {TP("events", 0): 5}
        assert await consumer._commit(offsets)  # type: ignore[attr-defined]
        stop_without_committing(app)
        assert app.conf.stream_wait_empty is False
        assert not await consumer._commit(offsets)  # type: ignore[attr-defined]
        return committed

    assert asyncio.run(run()) == [{TP("events", 0): 5}]


def test_faust_acks_the_batch_in_hand_when_the_agents_loop_ends() -> None:
    """Why the agent never lets an exception out of its loop (streams/agents.py::
    Pipeline.consume): ``take_events`` acks the events it yielded in a ``finally``, so an
    agent that crashed would have their offsets committed, folded or not."""
    from faust.streams import Stream

    source = inspect.getsource(Stream.take_events)
    yielded = source.index("yield list(events)")
    assert source.index("finally:", yielded) < source.index("await self.ack(event)", yielded)


def _record(offset: int = 7) -> SimpleNamespace:
    """A record of partition 0 as ``take_events`` yields it: an event with its message."""
    message = SimpleNamespace(
        topic="events", partition=0, offset=offset, key=b"k", value=b"v", timestamp=1.0
    )
    return SimpleNamespace(message=message)


def _pipeline(outlets: type[Any] | None = None) -> tuple[Any, Any, list[Any]]:
    """The worker's app (its consumer's commits accepted, no broker), a pipeline on it
    with ``outlets`` (the agent's own by default), and what is sent to its fold process
    (a stand-in that takes every request)."""
    from infra.progress import Progress
    from infra.topics import Topics
    from streams.agents import Outlets, Pipeline

    app = create_app(Settings(), "127.0.0.1:9")
    app.consumer._thread = SimpleNamespace(commit=lambda offsets: asyncio.sleep(0, True))
    table = SimpleNamespace(data={})
    pipeline = Pipeline(app, table, (outlets or Outlets)(app, Topics(), 4), Progress())
    sent: list[Any] = []
    pipeline.process = SimpleNamespace(send=sent.append)  # type: ignore[assignment]
    return app, pipeline, sent


@pytest.mark.parametrize("where", ["the stream", "the loop"])
def test_an_agent_that_fails_commits_nothing_more_and_stops_the_worker(where: str) -> None:
    """Any failure in the agent's loop — the consumer's, or a defect past a batch in
    hand — halts like a dead fold process: commits refused, the worker told to restart,
    and the loop waits to be cancelled by the stop instead of crashing."""

    async def batches() -> Any:
        if where == "the stream":
            raise OSError("the consumer failed")
        yield [_record()]

    def batch_done(n: int) -> None:
        raise RuntimeError("a defect after the batch was sent")

    async def run() -> tuple[list[str], bool, bool, list[Any]]:
        app, pipeline, sent = _pipeline()

        async def starts() -> dict[int, int]:
            return {0: 7}

        restarts: list[str] = []
        loop = asyncio.create_task(pipeline.consume(batches(), starts, batch_done, restarts.append))
        await asyncio.sleep(0.1)
        waiting = not loop.done()
        loop.cancel()
        committed = await app.consumer._commit({TP("events", 0): 8})  # type: ignore[attr-defined]
        return restarts, waiting, committed, sent

    restarts, waiting, committed, sent = asyncio.run(run())
    cause = "OSError" if where == "the stream" else "RuntimeError"
    assert len(restarts) == 1 and restarts[0].startswith(cause), restarts
    assert waiting  # for the stop to cancel it, not crashed
    assert committed is False
    assert [r[0] for r in sent] == ([] if where == "the stream" else ["items", "batch"])


def test_outcomes_that_cannot_be_carried_out_halt_the_worker_and_its_write_back() -> None:
    """A send of the outcomes fails (the producer's error, a defect): the batches in
    flight were acked already, so the worker commits nothing more and restarts, and a
    write-back waiting for the answers fails at once instead of hanging the stop."""
    from streams.agents import CannotFold, Outlets

    class Failing(Outlets):
        async def carry_out(self, outcome: Any, message: Any) -> None:
            raise ConnectionError("the producer could not send an alert")

    async def run() -> tuple[list[str], bool, str]:
        app, pipeline, _ = _pipeline(Failing)
        restarts: list[str] = []
        carrying = asyncio.create_task(pipeline.run(restarts.append))
        await pipeline.submit([_record()])
        write_back = asyncio.create_task(pipeline.write_back())
        await asyncio.sleep(0.01)  # the write-back waits for its cut
        pipeline.answer(("done", 1, ([None], 0.001)))
        try:
            await asyncio.wait_for(write_back, 5)
            waited = "answered"
        except CannotFold as exc:
            waited = f"failed: {exc}"
        await asyncio.wait_for(carrying, 5)
        committed = await app.consumer._commit({TP("events", 0): 8})  # type: ignore[attr-defined]
        return restarts, committed, waited

    restarts, committed, waited = asyncio.run(run())
    assert len(restarts) == 1 and restarts[0].startswith("ConnectionError"), restarts
    assert committed is False
    assert waited.startswith("failed: ConnectionError"), waited
