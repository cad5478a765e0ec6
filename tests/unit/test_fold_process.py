"""The fold in a process of its own (streams/fold_process.py), spoken to as the agent
does: the same outcomes as the fold in process, write-backs that restore the same
engines, and a child that dies is noticed."""

from __future__ import annotations

import asyncio
import os
import pickle
import signal
import struct
import zlib
from types import SimpleNamespace
from typing import Any

import orjson
import pytest

from folds.offline import fold_offline
from folds.registry import AGGREGATES, Aggregate, build_folds
from infra.progress import Progress
from infra.settings import Settings
from infra.topics import Topics
from replay.loader import bundled_corpus, load_paths
from schemas.codec import encode_event
from schemas.ticks import TICK_KEY, tick_value
from streams.agents import IN_FLIGHT, CannotFold, Pipeline
from streams.fold_process import FoldProcess, _Answers, carried
from streams.processing import Batch, Partitions
from streams.restore import restore_engine, stored_items
from tests.helpers import timeline_values

CORPUS = [item.event for item in load_paths([bundled_corpus()]).events]
SETTINGS = Settings()
TOPICS = Topics.from_settings(SETTINGS)
ALERT_TOPICS = {name: TOPICS.alerts(name) for name in TOPICS.aggregate_names}


def _records() -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = [
        (
            e.dyad.encode(),
            encode_event(e),
            e.occurred_at.timestamp(),
            zlib.crc32(e.dyad.encode()) % 2,
            i,
        )
        for i, e in enumerate(CORPUS)
    ]
    rows.insert(5, (b"KAZ:RUS", b"{not json", 0.0, 1, 900))  # a dead letter
    rows.insert(
        9, (b"wrong-key", encode_event(CORPUS[3]), CORPUS[3].occurred_at.timestamp(), 0, 901)
    )
    end = CORPUS[-1].occurred_at
    ticks = [(TICK_KEY, tick_value(end), end.timestamp(), p, 902 + p) for p in (0, 1)]
    return [*rows, *ticks]


class Child:
    """A started fold process and what it answered, on one event loop."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, aggregates: tuple[Aggregate, ...] = AGGREGATES
    ) -> None:
        self.answers: asyncio.Queue[Any] = asyncio.Queue()
        self.exited: asyncio.Future[str] = loop.create_future()
        self.process = FoldProcess(
            SETTINGS, aggregates, loop, self.answers.put_nowait, self.exited.set_result
        )
        self.process.start()

    async def ask(self, request: Any) -> Any:
        self.process.send(request)
        if request[0] in ("batch", "cut"):
            return await asyncio.wait_for(self.answers.get(), 30)
        return None


def test_the_fold_process_answers_as_the_fold_in_process_and_its_writes_restore() -> None:
    records = _records()
    folds = build_folds(SETTINGS)
    local = Partitions(folds, SETTINGS.allowed_lateness_days, list)
    expected = []
    for start in range(0, len(records), 7):
        batch = Batch(local)
        expected += [carried(batch.process(*r), ALERT_TOPICS) for r in records[start : start + 7]]

    async def run() -> tuple[list[Any], list[Any]]:
        child = Child(asyncio.get_running_loop())
        await child.ask(("items", []))
        got: list[Any] = []
        writes: list[Any] = []
        for seq, start in enumerate(range(0, len(records), 7)):
            kind, answered, (outcomes, seconds) = await child.ask(
                ("batch", seq, records[start : start + 7])
            )
            assert (kind, answered) == ("done", seq) and seconds >= 0
            got += outcomes
            if seq % 3 == 2:  # write-backs between batches: each dyad once per cut
                kind, _, cut = await child.ask(("cut", 100 + seq))
                writes += cut
        writes += (await child.ask(("cut", 999)))[2]
        child.process.stop()
        return got, writes

    got, writes = asyncio.run(run())
    assert got == expected
    assert [o.verdict for o in got if o is not None and o.verdict != "folded"] == [
        "dead_letter",
        "rekey",
    ]
    # The table as the agent keeps it: the bytes written, last write wins.
    table: dict[str, Any] = {}
    for _, key, raw_key, raw_value in writes:
        assert orjson.loads(raw_key) == key
        if raw_value is None:
            table.pop(key, None)
        else:
            table[key] = raw_value
    state, _ = fold_offline(folds, [e for e in CORPUS])
    values = {}
    for partition in (0, 1):
        engine = restore_engine(folds, 30.0, partition, stored_items(table.items()))
        for dyad, log in engine.logs.items():
            values[dyad] = {"head": log.dump()["head"]}
    assert orjson.loads(orjson.dumps(values)) == timeline_values(state)


def test_a_fold_process_that_dies_is_reported_with_its_exit_code() -> None:
    async def run() -> str:
        child = Child(asyncio.get_running_loop())
        await child.ask(("items", []))
        assert child.process.proc is not None
        await asyncio.sleep(0.5)
        os.kill(child.process.proc.pid, signal.SIGKILL)
        return await asyncio.wait_for(child.exited, 30)

    reason = asyncio.run(run())
    assert "the fold process ended (exit code -9)" in reason


def test_when_the_fold_process_dies_a_batch_waiting_and_a_write_back_are_told() -> None:
    """The agent's side (streams/agents.py::Pipeline): a batch waiting for a slot and a
    write-back waiting for its cut raise CannotFold (the worker then stops instead
    of hanging), and the stop's own flush afterwards asks for nothing and passes."""

    async def run() -> None:
        loop = asyncio.get_running_loop()
        pipeline = Pipeline(SimpleNamespace(), SimpleNamespace(data={}), None, Progress())  # type: ignore[arg-type]
        pipeline.start(FoldProcess(SETTINGS, AGGREGATES, loop, pipeline.answer, pipeline.failed))
        for _ in range(IN_FLIGHT):  # answered, never carried out: the slots stay taken
            await pipeline.submit([])
        waiting = asyncio.ensure_future(pipeline.submit([]))
        cut = asyncio.ensure_future(pipeline.write_back())
        await asyncio.sleep(0.5)
        assert not waiting.done() and not cut.done()
        assert pipeline.process is not None and pipeline.process.proc is not None
        os.kill(pipeline.process.proc.pid, signal.SIGKILL)
        for task in (waiting, cut):
            with pytest.raises(CannotFold, match="exit code -9"):
                await asyncio.wait_for(task, 30)
        await pipeline.write_back()

    asyncio.run(run())


def test_an_aggregate_outside_the_registry_folds_in_the_fold_process() -> None:
    """Any aggregate declared at a module's top level reaches the fold process (by
    reference) and raises there what it raises in process, on its own topic."""
    from tests.unit.test_registry import WITH_COUNT, CountState

    records = _records()
    topics = Topics.from_settings(SETTINGS, WITH_COUNT)
    alert_topics = {name: topics.alerts(name) for name in topics.aggregate_names}
    batch = Batch(Partitions(build_folds(SETTINGS, WITH_COUNT), 30.0, list))
    expected = [carried(batch.process(*r), alert_topics) for r in records]

    async def run() -> list[Any]:
        child = Child(asyncio.get_running_loop(), WITH_COUNT)
        await child.ask(("items", []))
        _, _, (outcomes, _) = await child.ask(("batch", 1, records))
        child.process.stop()
        return list(outcomes)

    got = asyncio.run(run())
    assert got == expected
    counted = [a for o in got if o is not None for a in o.alerts if a[4] == "count.tenth"]
    assert counted and {a[0] for a in counted} == {"dipwatch.alerts.count"}

    local = Aggregate("count", CountState, lambda settings: None)  # type: ignore[arg-type,return-value]
    with pytest.raises(TypeError, match="'count' cannot reach the fold process"):
        FoldProcess(SETTINGS, (*AGGREGATES, local), None, print, print)  # type: ignore[arg-type]


class _Owner:
    """What an answers' pipe reports to: the answers, and why it ended."""

    def __init__(self) -> None:
        self.answers: list[Any] = []
        self.ended: list[str] = []

    def on_answer(self, message: Any) -> None:
        self.answers.append(message)

    def exited(self, why: str) -> None:
        self.ended.append(why)


def _framed(message: Any) -> bytes:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return struct.pack("<I", len(data)) + data


@pytest.mark.parametrize("piece", [1, 3, 7, 64, 1 << 16])
def test_answers_are_handed_over_whole_and_in_order_however_the_pipe_cuts_them(
    piece: int,
) -> None:
    """The loop reads the answers' pipe in whatever pieces it gets: a frame split
    across reads, several frames in one read, a large one (a write-back) in many."""
    messages = [("done", 1, ([None], 0.1)), ("cut", 2, [(0, "KAZ:RUS", b"k", b"v" * 200_000)])]
    messages += [("done", seq, ([None] * seq, 0.0)) for seq in range(3, 40)]
    stream = b"".join(_framed(m) for m in messages)
    owner = _Owner()
    answers = _Answers(owner)  # type: ignore[arg-type]
    for start in range(0, len(stream), piece):
        answers.data_received(stream[start : start + piece])
    assert owner.answers == messages and owner.ended == []
    answers.eof_received()
    assert owner.ended == ["the other process closed its pipe"]


def test_an_answer_cut_short_or_unreadable_ends_the_fold_process() -> None:
    owner = _Owner()
    answers = _Answers(owner)  # type: ignore[arg-type]
    answers.data_received(_framed(("done", 1, ([], 0.0)))[:-2])
    answers.eof_received()
    assert owner.answers == [] and owner.ended == ["the other process closed its pipe mid-message"]

    owner = _Owner()
    _Answers(owner).data_received(struct.pack("<I", 4) + b"junk")  # type: ignore[arg-type]
    assert owner.answers == [] and len(owner.ended) == 1 and "UnpicklingError" in owner.ended[0]
