"""A dyad's retained events are stored apart from its value, in chunks written once and
deleted once spent (folds/stored.py): no value grows with how busy a pair is, and what
is stored restores the same log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from folds.dyadlog import DyadLog
from folds.stored import CHUNK_BYTES, SPILL_BYTES, chunk_number, is_chunk_key
from streams.processing import Partitions
from streams.restore import restore_engine
from tests.helpers import retraction, threat
from tests.unit.test_processing import LATENESS, Tables, _record, stored_form

T0 = datetime(2022, 1, 3, tzinfo=UTC)


def _busy(tables: Tables, days: int, per_day: int, batch: int = 40) -> list[str]:
    """``per_day`` threats a day for ``days`` days, in batches; the ids folded."""
    ids, records = [], []
    for day in range(days):
        for n in range(per_day):
            event = threat(f"d{day}-{n}", (T0 + timedelta(days=day, minutes=n)).isoformat())
            ids.append(event.event_id)
            records.append(_record(event))
    for start in range(0, len(records), batch):
        b = tables.batch()
        for i, record in enumerate(records[start : start + batch]):
            b.process(*record, 0, start + i)
        tables.commit(b)
    return ids


def _number(key: str) -> int:
    number = chunk_number(key)
    assert number is not None, key
    return number


def _restored(tables: Tables) -> DyadLog:
    value = tables.timeline["KAZ:RUS"]
    return DyadLog.load(tables.folds, value, timedelta(days=LATENESS), tables.timeline)


def test_a_busy_pairs_value_stays_small_and_its_spent_chunks_are_deleted() -> None:
    tables = Tables()
    ids = _busy(tables, days=120, per_day=50)  # 6,000 events, ~1,500 retained at a time
    value = tables.timeline["KAZ:RUS"]
    # Its events beyond SPILL_BYTES are in chunks: not ~1,500 events' worth (~600 KB).
    assert len(orjson.dumps(value)) < SPILL_BYTES + 20_000
    chunks = [k for k in tables.timeline if is_chunk_key(k)]
    assert sorted(chunks) == sorted(value["chunks"])  # spent chunks were deleted
    log = tables.partitions.engines[0].logs["KAZ:RUS"]
    retained = {e.event_id for e in log.events}
    stored = {e["event_id"] for k in chunks for e in tables.timeline[k]["events"]}
    assert retained <= stored and len(stored) < len(ids) // 2  # history is not kept
    assert all(len(orjson.dumps(tables.timeline[k])) <= CHUNK_BYTES + 1_000 for k in chunks)


def test_what_is_stored_restores_the_log_after_settling_and_retractions() -> None:
    tables = Tables()
    _busy(tables, days=70, per_day=5)
    b = tables.batch()  # retract one retained event and one of the oldest retained
    live = tables.partitions.engines[0].logs["KAZ:RUS"]
    for i, gone in enumerate((live.events[-3], live.events[0])):
        b.process(*_record(retraction(f"r{i}", gone)), 0, 10_000 + i)
    tables.commit(b)
    restored = _restored(tables)
    assert [e.event_id for e in restored.events] == [e.event_id for e in live.events]
    assert restored.head == live.head and restored.base == live.base
    assert restored.standing == live.standing


def test_a_chunk_larger_than_the_limit_is_split() -> None:
    tables = Tables()
    _busy(tables, days=1, per_day=1_200, batch=1_200)  # ~500 KB of events in one batch
    value = tables.timeline["KAZ:RUS"]
    assert len(value["chunks"]) >= 2
    sizes = [len(orjson.dumps(tables.timeline[k])) for k in value["chunks"]]
    assert all(size <= CHUNK_BYTES + 1_000 for size in sizes)
    assert len(_restored(tables).events) == 1_200


def test_a_value_stored_before_chunks_loads_and_moves_its_events_to_a_chunk() -> None:
    tables = Tables()
    _busy(tables, days=3, per_day=4)
    live = tables.partitions.engines[0].logs["KAZ:RUS"]
    old = orjson.loads(orjson.dumps(live.dump()))  # as it was stored: events inline
    del old["chunks"], old["seq"]
    old["events"] = [orjson.loads(e.model_dump_json()) for e in live.events]
    log = DyadLog.load(tables.folds, old, timedelta(days=LATENESS))
    assert [e.event_id for e in log.events] == [e.event_id for e in live.events]
    assert log.head == live.head
    for i in range(80):  # enough more to pass SPILL_BYTES: all go to a chunk
        log.add(threat(f"more{i}", (T0 + timedelta(days=3, minutes=i)).isoformat()))
    writes = log.stored.write_back(log.partition)
    assert [k for k, _ in writes] == ["KAZ:RUS#1"]
    assert orjson.loads(orjson.dumps(log.dump()))["events"] == []
    assert len(writes[0][1]["events"]) == len(log.events)  # type: ignore[index]


def test_a_chunk_no_value_lists_is_not_read_and_is_deleted() -> None:
    tables = Tables(restart=True)
    _busy(tables, days=2, per_day=100)
    listed = tables.timeline["KAZ:RUS"]["chunks"]
    assert listed
    # A worker stored its next chunk, then died before the value that lists it.
    orphan = f"KAZ:RUS#{tables.timeline['KAZ:RUS']['seq'] + 1}"
    tables.timeline[orphan] = {"dyad": "KAZ:RUS", "partition": 0, "events": []}
    restored = _restored(tables)
    assert restored.stored.chunks == listed
    b = tables.batch()  # the next write-back deletes it; the next chunk is numbered past it
    for i in range(100):
        at = (T0 + timedelta(days=2, minutes=i)).isoformat()
        b.process(*_record(threat(f"next{i}", at)), 0, 1_000 + i)
    tables.commit(b)
    assert orphan not in tables.timeline
    assert f"KAZ:RUS#{_number(orphan) + 1}" in tables.timeline["KAZ:RUS"]["chunks"]


def test_a_log_restores_from_the_values_as_this_process_wrote_them() -> None:
    # A Faust table keeps the objects it was given: chunks with their events as fragments.
    tables = Tables()
    _busy(tables, days=2, per_day=100)
    live = tables.partitions.engines[0].logs["KAZ:RUS"]
    more = [threat(f"m{i}", (T0 + timedelta(days=2, minutes=i)).isoformat()) for i in range(90)]
    for event in more:
        live.add(event)
    in_memory = dict(tables.timeline) | dict(live.stored.write_back(live.partition))
    value = orjson.loads(orjson.dumps(live.dump()))
    restored = DyadLog.load(tables.folds, value, timedelta(days=LATENESS), in_memory)
    assert [e.event_id for e in restored.events] == [e.event_id for e in live.events]


def test_a_write_back_cut_short_anywhere_restores_every_dyad() -> None:
    """A worker that stops in the middle of a write-back (killed, or its fold process
    gone) leaves a prefix of it in the changelog. Every prefix must restore the pair:
    a spent chunk is deleted only after the value that no longer lists it."""
    tables, ids = Tables(), []
    cuts = 0
    for day in range(60):
        b = tables.batch()
        for n in range(50):
            event = threat(f"d{day}-{n}", (T0 + timedelta(days=day, minutes=n)).isoformat())
            ids.append(event.event_id)
            b.process(*_record(event), 0, len(ids))
        writes = tables.partitions.writes()
        if any(value is None for _, _, value in writes):  # spent chunks deleted
            heads = []
            for end in range(len(writes) + 1):
                timeline = dict(tables.timeline)
                _apply(timeline, writes[:end])
                engine = restore_engine(tables.folds, LATENESS, 0, list(timeline.items()))
                assert "KAZ:RUS" in engine.logs, f"write-back cut after {end} of {len(writes)}"
                heads.append(engine.logs["KAZ:RUS"].head_json())
            assert set(map(repr, heads)) == {repr(heads[0]), repr(heads[-1])}  # before, after
            cuts += 1
        _apply(tables.timeline, writes)
    assert cuts >= 3


def _apply(timeline: dict[str, Any], writes: list[tuple[int, str, Any]]) -> None:
    for _, key, value in writes:  # as Tables.commit stores them
        if value is None:
            del timeline[key]
        else:
            timeline[key] = stored_form(value)


def test_the_standing_alerts_are_not_stored_but_folded_again() -> None:
    """They were two thirds of a busy pair's value, written at every commit (session 19):
    the re-fold that restores the head raises them again, the same."""
    tables = Tables()
    _busy(tables, days=20, per_day=5)
    live = tables.partitions.engines[0].logs["KAZ:RUS"]
    assert len(live.standing) >= 3  # the threats raised alerts within the lateness
    assert tables.timeline["KAZ:RUS"]["standing"] is None
    assert _restored(tables).standing == live.standing


def test_standing_alerts_a_value_lists_load_and_those_these_rules_would_not_raise_stay() -> None:
    """A value written before session 19 lists its standing alerts; one written under
    other rules may list alerts these rules would not raise. Those were published: they
    stay standing, and stored, until a re-fold withdraws them."""
    tables = Tables()
    _busy(tables, days=20, per_day=5)
    live = tables.partitions.engines[0].logs["KAZ:RUS"]
    value, lateness = tables.timeline["KAZ:RUS"], timedelta(days=LATENESS)
    listed = [orjson.loads(a.model_dump_json()) for _, a in sorted(live.standing.items())]

    same = DyadLog.load(tables.folds, {**value, "standing": listed}, lateness, tables.timeline)
    assert same.standing == live.standing and same.dump()["standing"] is None

    older = {**listed[0], "title": listed[0]["title"] + " (older rules)"}
    other = DyadLog.load(
        tables.folds, {**value, "standing": [older, *listed[1:]]}, lateness, tables.timeline
    )
    assert other.standing[older["alert_id"]].title.endswith("(older rules)")
    assert orjson.loads(orjson.dumps(other.dump()["standing"])) == [older, *listed[1:]]
    # A late event re-folds the pair: the older alert is withdrawn, and raised again as
    # these rules have it; from then on nothing standing is stored.
    change = other.add(threat("late", (T0 + timedelta(days=15, seconds=30)).isoformat()))
    assert older["alert_id"] in {w.withdraws for w in change.withdrawn}
    assert other.standing[older["alert_id"]] == live.standing[older["alert_id"]]
    assert other.dump()["standing"] is None


def test_a_chunk_written_before_a_crash_and_never_listed_is_deleted() -> None:
    """A worker that stops between a new chunk and the value listing it leaves the chunk
    listed by no value. The restored pair deletes it at its next write-back (due at
    once), and its new chunks take numbers past it."""
    tables, n = Tables(), 0
    while True:  # batches until a write-back makes a chunk
        b = tables.batch()
        for _ in range(50):
            at = (T0 + timedelta(minutes=n)).isoformat()
            b.process(*_record(threat(f"e{n}", at)), 0, n)
            n += 1
        writes = tables.partitions.writes()
        made = [i for i, (_, k, v) in enumerate(writes) if is_chunk_key(k) and v is not None]
        if made:
            break
        _apply(tables.timeline, writes)
    orphan = writes[made[0]][1]
    _apply(tables.timeline, writes[: made[0] + 1])  # the chunk, not the value: a crash
    engine = restore_engine(tables.folds, LATENESS, 0, list(tables.timeline.items()))
    log = engine.logs["KAZ:RUS"]
    assert orphan not in log.stored.chunks and "KAZ:RUS" in engine.dirty
    after = Partitions(tables.folds, LATENESS, tables.timeline.items)
    after.engines[0] = engine
    engine_writes = after.writes()
    assert (0, orphan, None) in engine_writes
    _apply(tables.timeline, engine_writes)
    assert orphan not in tables.timeline
    # New chunks are numbered past it, and what is stored restores the pair.
    assert log.stored.seq >= _number(orphan)
    restored = restore_engine(tables.folds, LATENESS, 0, list(tables.timeline.items()))
    assert [e.event_id for e in restored.logs["KAZ:RUS"].events] == [e.event_id for e in log.events]
