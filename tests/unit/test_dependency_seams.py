"""The places that reach into a dependency's internals still work as assumed.

If faust-streaming or aiokafka changes them, these fail before the worker does.
"""

from __future__ import annotations

import asyncio
import inspect
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

from aiokafka import AIOKafkaConsumer

from infra.clients import refresh_metadata
from infra.settings import Settings
from streams.app import create_app


def test_aiokafka_consumers_can_still_force_a_metadata_update() -> None:
    # The behaviour itself is exercised through a real broker by the alerts CLI tests.
    async def check() -> bool:
        consumer = AIOKafkaConsumer(bootstrap_servers="127.0.0.1:9")
        try:
            return callable(getattr(consumer._client, "force_metadata_update", None))
        finally:
            await consumer._client.close()

    assert asyncio.run(check())
    assert inspect.iscoroutinefunction(refresh_metadata)


def test_an_unreadable_changelog_record_becomes_a_delete_and_is_counted() -> None:
    from faust.serializers import codecs

    from infra import metrics
    from streams.compat import TABLE_CODEC, TolerantJSON

    codec = codecs.get_codec(TABLE_CODEC)
    assert isinstance(codec, TolerantJSON)

    def skipped() -> float:
        return metrics.REGISTRY.get_sample_value("dipwatch_changelog_skipped_total") or 0.0

    before = skipped()
    assert codec.loads(codec.dumps({"state": {"a": 1}})) == {"state": {"a": 1}}
    for bad in (b"{not json", b"[" * 100_000 + b"]" * 100_000, b"\xff\xfe"):
        assert codec.loads(bad) is None
    assert skipped() == before + 3


def test_faust_tables_take_the_changelog_codec_from_their_public_attributes() -> None:
    from faust.tables.base import Collection

    source = inspect.getsource(Collection._new_changelog_topic)
    assert "self.value_serializer" in source and "self.key_serializer" in source


def test_the_fetch_wait_reaches_the_consumer_faust_creates() -> None:
    """Faust writes ``fetch_max_wait_ms=1500`` into its consumer call; the wrapper sets
    aiokafka's attribute, which aiokafka hands to its fetcher when the consumer starts."""
    from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

    from streams.compat import _ORIGINAL, set_fetch_wait

    # Faust's own method, even if an app made by another test has wrapped it already.
    original = _ORIGINAL.get("create", AIOKafkaConsumerThread._create_worker_consumer)
    AIOKafkaConsumerThread._create_worker_consumer = original  # type: ignore[method-assign]
    _ORIGINAL.clear()
    assert "fetch_max_wait_ms=1500" in inspect.getsource(original)
    assert "fetch_max_wait_ms=self._fetch_max_wait_ms" in inspect.getsource(AIOKafkaConsumer.start)
    made: list[AIOKafkaConsumer] = []

    async def build() -> None:
        app = create_app(Settings(fetch_wait_ms=7), "127.0.0.1:9")
        thread = AIOKafkaConsumerThread(app.consumer, loop=asyncio.get_running_loop())
        thread.transport = app.consumer.transport
        consumer = thread._create_worker_consumer(app.consumer.transport)
        made.append(consumer)
        await consumer._client.close()

    try:
        asyncio.run(build())
        assert made[0]._fetch_max_wait_ms == 7
    finally:
        AIOKafkaConsumerThread._create_worker_consumer = original  # type: ignore[method-assign]
        set_fetch_wait.__globals__["_ORIGINAL"].clear()


def test_faust_still_says_when_it_rebalances_and_recovers_for_the_stall_guard() -> None:
    """streams/stall.py counts a stall only while Faust reads its streams: its app's
    ``rebalancing`` flag (set and cleared around a rebalance) and its recovery's
    ``in_recovery``."""
    from faust.app.base import App

    async def build() -> Any:
        return create_app(Settings(), "127.0.0.1:9")

    app = asyncio.run(build())
    assert app.rebalancing is False and app.tables.recovery.in_recovery is False
    assert "self.rebalancing = True" in inspect.getsource(App.on_rebalance_start)
    assert "self.rebalancing = False" in inspect.getsource(App.on_rebalance_end)


def test_faust_recovery_still_keeps_what_the_watchdog_reads() -> None:
    """streams/watchdog.py reads Faust's Recovery: whether it is recovering, since when,
    when each changelog partition last gave a record, and what remains to read."""
    from faust.tables.recovery import Recovery

    async def build() -> Any:
        return create_app(Settings(), "127.0.0.1:9").tables.recovery  # type: ignore[attr-defined]

    recovery = asyncio.run(build())
    assert isinstance(recovery, Recovery)
    assert recovery.in_recovery is False and recovery._recovery_started_at is None
    assert recovery._active_events_received_at == {}
    assert dict(recovery.active_remaining()) == {}
    source = inspect.getsource(Recovery._set_recovery_started)
    assert "_recovery_started_at = monotonic()" in source
    slurp = inspect.getsource(Recovery._slurp_changelogs.fun)  # a mode ServiceTask
    assert "active_events_received_at = self._active_events_received_at" in slurp
    assert "active_events_received_at[tp] = now" in slurp


def test_the_worker_leaves_the_root_loggers_level_alone() -> None:
    """Faust's spinner lowers the root logger to DEBUG (every library debug line then
    becomes a record); the worker we run has no spinner, so the level stays."""
    import logging

    import faust

    from streams.worker import faust_worker

    async def build() -> tuple[faust.Worker, faust.Worker]:
        app = create_app(Settings(), "127.0.0.1:9")
        loop = asyncio.get_running_loop()
        return faust_worker(app, loop), faust.Worker(app, loop=loop, quiet=True)

    ours, faust_default = asyncio.run(build())
    for worker, expected in ((faust_default, logging.DEBUG), (ours, logging.WARNING)):
        logger = logging.Logger("seam-check", logging.WARNING)
        logger.addHandler(logging.NullHandler())
        worker.on_setup_root_logger(logger, logging.WARNING)
        assert logger.level == expected


def test_faust_writes_a_dyad_log_with_its_events_as_json_objects() -> None:
    """The changelog codec goes through orjson, which embeds the events' fragments."""
    import orjson

    from folds import DyadLog, TensionFold
    from streams.compat import TolerantJSON
    from tests.helpers import threat

    log = DyadLog([TensionFold()], "KAZ:RUS", timedelta(days=30))
    log.add(threat("t1"))
    written = TolerantJSON().dumps(log.dump())
    assert written == orjson.dumps(log.dump())
    assert orjson.loads(written)["events"][0]["event_id"] == "t1"


def _folded_log() -> Any:
    from folds import DyadLog, TensionFold
    from tests.helpers import threat

    log = DyadLog([TensionFold()], "KAZ:RUS", timedelta(days=30))
    log.add(threat("t1"))
    return log


def _timeline_table() -> Any:
    """The worker app's timeline table (codecs set; no broker needed)."""
    from infra.topics import TIMELINE_TABLE, Topics

    settings = Settings()
    app = create_app(settings, "127.0.0.1:9")
    return app.tables[Topics.from_settings(settings).table(TIMELINE_TABLE)]


def _faust_record(table: Any, key: str, value: Any, partition: int) -> Any:
    """The changelog record Faust's own table write makes for ``key`` = ``value``."""
    return table.changelog_topic.as_future_message(
        key=key,
        value=value,
        partition=partition,
        key_serializer=table.key_serializer,
        value_serializer=table.value_serializer,
    ).message


def test_a_table_write_straight_to_the_producer_is_the_record_faust_writes() -> None:
    """streams/compat.py::ChangelogWriter: the same key and value bytes, topic and
    partition as the record Faust's own table write builds (``send_changelog``), and the
    store holds the value after; a delete is a tombstone, of a held key only."""
    from streams.compat import ChangelogWriter

    log = _folded_log()
    sent: list[tuple[Any, ...]] = []

    class Producer:
        async def send(self, *args: Any) -> None:
            sent.append(args)

    async def write() -> list[tuple[Any, ...]]:
        table = _timeline_table()
        writer = ChangelogWriter(SimpleNamespace(producer=Producer()), table)
        expected = []
        for key, value in (("KAZ:RUS", log), ("~watermark/3", {"watermark": "2025-01-01"})):
            await writer.set(3, key, value)
            assert table.data[key] is value
            faust_made = _faust_record(table, key, value, 3)
            topic = table.changelog_topic.get_topic_name()
            expected.append((topic, faust_made.key, faust_made.value, 3, None, None))
        await writer.delete(2, "KAZ:RUS")
        await writer.delete(2, "KAZ:RUS")  # no longer held: nothing sent
        assert "KAZ:RUS" not in table.data
        return [*expected, (expected[0][0], expected[0][1], None, 2, None, None)]

    expected = asyncio.run(write())
    assert sent == expected
    assert b'"event_id":"t1"' in sent[0][2]


def test_the_fold_process_writes_the_key_and_value_bytes_faust_writes() -> None:
    """streams/fold_process.py makes the changelog records with the table's codec by
    name, outside Faust's table: the bytes must be those Faust's own table write makes
    (``as_future_message``, as in the test of ChangelogWriter above)."""
    from faust.serializers import codecs

    from streams.compat import TABLE_CODEC

    log = _folded_log()
    codec = codecs.get_codec(TABLE_CODEC)

    async def compare() -> None:
        table = _timeline_table()
        for key, value in (("KAZ:RUS", log), ("~watermark/3", {"watermark": "2025-01-01"})):
            faust_made = _faust_record(table, key, value, 3)
            assert (codec.dumps(key), codec.dumps(value)) == (faust_made.key, faust_made.value)

    asyncio.run(compare())


def test_the_recovery_seeks_before_it_resumes_and_is_otherwise_fausts() -> None:
    """streams/seek_first.py: Faust's ``on_recovery_completed`` resumes the stream
    partitions, then seeks them; the copy does the same with the two steps swapped and a
    second seek after the resume, and nothing else differs (a new Faust fails this:
    review the copy)."""
    import ast
    import textwrap

    from streams import seek_first

    def body(function: Any) -> list[ast.stmt]:
        tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
        return tree.body[0].body  # type: ignore[attr-defined,no-any-return]

    faust = body(seek_first.FAUST_ON_RECOVERY_COMPLETED)
    ours = body(seek_first.on_recovery_completed)
    steps = [ast.unparse(s) for s in faust]
    resume = next(i for i, s in enumerate(steps) if s.startswith("consumer.resume_partitions"))
    assert "consumer.perform_seek()" in steps[resume + 1]  # Faust: resume, then seek
    faust[resume], faust[resume + 1] = faust[resume + 1], faust[resume]
    # ... and after the resume, the second seek (what a fetch between the two dropped).
    again = ast.parse(
        "await seek_again(consumer, {tp for tp in assignment if not self._is_changelog_tp(tp)})"
    ).body
    faust[resume + 2 : resume + 2] = again
    assert [ast.dump(s) for s in ours] == [ast.dump(s) for s in faust]

    from faust.tables.recovery import Recovery

    create_app(Settings(), "127.0.0.1:9")  # the worker's app
    assert Recovery.on_recovery_completed is seek_first.on_recovery_completed


def test_faust_commits_at_the_cadence_the_settings_give() -> None:
    """The worker's commit cadence (and so how often values are written back) reaches
    the consumer Faust makes: its interval, and the record count its loop reads from a
    private attribute (``Consumer._drain_messages``)."""

    async def build() -> tuple[float, int]:
        app = create_app(Settings(commit_interval_s=7.5, commit_every=1_234), "127.0.0.1:9")
        consumer = app.consumer
        return consumer.commit_interval, consumer._commit_every

    assert asyncio.run(build()) == (7.5, 1_234)
