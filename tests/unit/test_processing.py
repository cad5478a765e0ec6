"""The agent's decisions, record by record, without Faust or a broker."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from folds.base import NoTimers
from folds.dyadlog import DyadLog
from folds.offline import fold_offline
from folds.registry import build_folds
from infra.settings import Settings
from replay.loader import bundled_corpus, load_paths
from schemas.codec import encode_event
from schemas.events import DiplomaticEvent
from schemas.ticks import TICK_KEY, tick_value
from streams.processing import Batch, Partitions, Verdict
from tests.helpers import make_event, standing, threat

CORPUS = [item.event for item in load_paths([bundled_corpus()]).events]
FOLDS = build_folds(Settings())
LATENESS = 30.0


def stored_form(value: Any) -> Any:
    """A written value as the table holds it after a recovery: the changelog's JSON."""
    return orjson.loads(orjson.dumps(value.dump() if isinstance(value, DyadLog) else value))


class Tables:
    """Dict-backed tables, written back at each :meth:`commit` as the agent writes
    Faust's before a commit; with ``restart``, every batch starts from engines restored
    from the stored JSON."""

    def __init__(
        self, folds: Any = FOLDS, *, restart: bool = False, lateness: float = LATENESS
    ) -> None:
        self.folds = folds
        self.lateness = lateness
        self.timeline: dict[str, Any] = {}
        self.values: dict[str, dict[str, Any]] = {f.name: {} for f in folds}
        self.partitions = Partitions(folds, lateness, self.timeline.items)
        self.restart = restart
        self.writes = 0

    def batch(self) -> Batch:
        if self.restart:
            self.partitions.forget()
        return Batch(self.partitions)

    def commit(self, batch: Batch | None = None, cut: float = 1.0) -> list[tuple[int, str]]:
        """Write back what moved since the last commit (``batch``: for the reader); with
        ``cut`` < 1, only that share of the writes, in order (a crash in mid write-back)."""
        done = []
        writes = self.partitions.writes()
        for partition, key, value in writes[: round(len(writes) * cut)]:
            if isinstance(value, DyadLog):
                stored = self.timeline[key] = stored_form(value)
                for fold in self.folds:  # what the read model takes: the log's head
                    if stored["head"] is None:
                        self.values[fold.name].pop(key, None)
                    else:
                        self.values[fold.name][key] = {"state": stored["head"][fold.name]}
            elif value is None:  # a spent chunk of retained events: deleted
                del self.timeline[key]
            else:  # a chunk of retained events, or a partition's watermark
                self.timeline[key] = stored_form(value)
            done.append((partition, key))
        self.writes += len(done)
        return done


def _record(event: DiplomaticEvent) -> tuple[bytes, bytes, float]:
    return event.dyad.encode(), encode_event(event), event.occurred_at.timestamp()


def _tick(at: datetime) -> tuple[bytes, bytes, float]:
    return TICK_KEY, tick_value(at), at.timestamp()


@pytest.mark.parametrize(
    ("batch_size", "restart"), [(1, True), (7, False), (7, True), (500, False)]
)
def test_batches_of_any_size_fold_the_corpus_as_the_offline_pipeline(
    batch_size: int, restart: bool
) -> None:
    tables, raised = Tables(restart=restart), []
    records = [_record(e) for e in CORPUS] + [_tick(CORPUS[-1].occurred_at)]
    for start in range(0, len(records), batch_size):
        batch = tables.batch()
        for i, record in enumerate(records[start : start + batch_size]):
            outcome = batch.process(*record, 0, start + i)
            assert outcome.verdict is Verdict.FOLDED
            raised.extend(outcome.alerts)
        tables.commit(batch)
    state, expected = fold_offline(FOLDS, CORPUS)
    assert raised == expected  # one partition: the same alerts in the same order
    assert tables.values == state


def test_a_dyad_touched_many_times_in_a_batch_is_written_once_in_its_partition() -> None:
    tables = Tables()
    batch = tables.batch()
    events = [threat(f"t{i}", f"2022-10-0{i + 1}T00:00:00Z") for i in range(3)]
    for i, event in enumerate(events):
        batch.process(*_record(event), 3, i)
    assert tables.commit(batch) == [(3, "KAZ:RUS"), (3, "~watermark/3")]
    # Three events are few: the value holds them (no chunk of its own; folds/stored.py).
    assert len(tables.timeline["KAZ:RUS"]["events"]) == 3


def test_a_redelivered_record_is_a_duplicate_and_writes_nothing() -> None:
    tables = Tables(restart=True)
    first = tables.batch()
    first.process(*_record(threat("t1")), 0, 0)
    tables.commit(first)
    again = tables.batch()
    outcome = again.process(*_record(threat("t1")), 0, 0)  # the same offset
    assert outcome.verdict is Verdict.FOLDED and "offset 0 already folded" in outcome.duplicate
    assert outcome.alerts == [] and tables.commit(again) == []
    copy = tables.batch()  # the same event published again: a new offset, a known id
    outcome = copy.process(*_record(threat("t1")), 0, 5)
    assert "already folded" in outcome.duplicate and outcome.alerts == []


def test_a_record_keyed_by_something_else_is_rekeyed_not_folded() -> None:
    tables = Tables()
    batch = tables.batch()
    _, value, stamp = _record(threat("t1"))
    outcome = batch.process(b"RUS:KAZ", value, stamp)
    assert (outcome.verdict, outcome.dyad) == (Verdict.REKEY, "KAZ:RUS")
    assert tables.commit(batch) == []


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        (b"KAZ:RUS", b"{not json", "not JSON"),
        (b"KAZ:RUS", None, "tombstone"),
        (b"KAZ:RUS", b'{"event_id": "x"}', "occurred_at"),
        (b"KAZ:RUS", b"[1, 2]", "expected a JSON object"),
        (TICK_KEY, b'{"tick": "yesterday"}', "tick: expected"),
        (TICK_KEY, b'{"tick": "2022-10-04T00:00:00"}', "needs a UTC offset"),
    ],
)
def test_an_unreadable_record_is_dead_lettered_with_its_reason(
    key: bytes, value: bytes | None, reason: str
) -> None:
    outcome = Tables().batch().process(key, value, None)
    assert outcome.verdict is Verdict.DEAD_LETTER
    assert reason in outcome.reason


def test_an_event_dated_after_its_record_is_dead_lettered() -> None:
    event = make_event(occurred_at="2022-10-04T00:00:00Z")
    key, value, stamp = _record(event)
    outcome = Tables().batch().process(key, value, stamp - 3 * 86_400)
    assert outcome.verdict is Verdict.DEAD_LETTER
    assert "in the future of its record" in outcome.reason


def test_an_event_before_the_settled_base_is_dead_lettered_before_any_fold_moves() -> None:
    tables = Tables()
    batch = tables.batch()
    batch.process(*_record(threat("new", "2025-01-01T00:00:00Z")))
    outcome = batch.process(*_record(threat("old", "2022-01-01T00:00:00Z")))
    assert outcome.verdict is Verdict.DEAD_LETTER and outcome.kind == "too_late"
    assert "past the allowed lateness" in outcome.reason and "KAZ:RUS" in outcome.reason
    tables.commit(batch)
    assert tables.values["tension"]["KAZ:RUS"]["state"]["events"] == 1


def test_a_late_event_within_the_lateness_corrects_the_alerts() -> None:
    """Two threats raise the level; a third, earlier one arrives last: the alerts whose
    figures it changes are withdrawn and raised again, and what stands is the sorted log's."""
    events = [threat(f"t{i}", f"2022-10-{i + 10}T00:00:00Z") for i in range(3)]
    tables, raised = Tables(), []
    batch = tables.batch()
    for offset, event in enumerate([events[1], events[2], events[0]]):
        raised.extend(batch.process(*_record(event), 0, offset).alerts)
    assert any(a.withdraws for a in raised)
    _, expected = fold_offline(FOLDS, events)
    assert standing(raised) == standing(expected)


def test_a_tick_fires_the_timers_of_a_quiet_dyad() -> None:
    tables = Tables()
    batch = tables.batch()
    batch.process(*_record(threat("t1", "2022-10-04T00:00:00Z")))
    tables.commit(batch)
    quiet = tables.batch()
    outcome = quiet.process(*_tick(datetime(2023, 10, 4, tzinfo=UTC)))
    assert [a.rule for a in outcome.alerts] == ["tension.level_down"]
    assert outcome.alerts[0].at < datetime(2022, 12, 1, tzinfo=UTC)  # dated when it crossed


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "RecursionError"),
        (b'{"event_id": "big", "goldstein": ' + b"7" * 5000 + b"}", "4300 digits"),
    ],
)
def test_a_poison_record_is_dead_lettered_and_the_next_event_still_folds(
    value: bytes, reason: str
) -> None:
    tables = Tables()
    batch = tables.batch()
    outcome = batch.process(b"KAZ:RUS", value, None)
    assert outcome.verdict is Verdict.DEAD_LETTER and reason in outcome.reason
    after = batch.process(*_record(threat("t1")))
    assert after.verdict is Verdict.FOLDED and after.alerts


class _Failing(NoTimers):
    """A fold that fails on every event: stands in for a fold that is not total."""

    name = "envoys"
    state_type = FOLDS[2].state_type

    def initial(self, key: str) -> Any:
        return FOLDS[2].initial(key)

    def apply(self, state: Any, event: DiplomaticEvent) -> Any:
        raise OverflowError("boom")


def test_a_fold_that_fails_dead_letters_the_record_and_moves_no_state() -> None:
    tables = Tables((FOLDS[0], FOLDS[1], _Failing()))
    batch = tables.batch()
    outcome = batch.process(*_record(threat("t1")))
    assert outcome.verdict is Verdict.DEAD_LETTER
    assert (
        "fold 'envoys' failed on event 't1'" in outcome.reason and "OverflowError" in outcome.reason
    )
    assert [k for _, k in tables.commit()] == ["~watermark/0"]  # no dyad moved


def test_a_stored_value_that_cannot_be_read_back_is_discarded_not_fatal() -> None:
    tables = Tables(restart=True)
    tables.timeline["KAZ:RUS"] = {"dyad": "KAZ:RUS", "partition": 0, "offset": "x"}
    tables.timeline["KAZ:UKR"] = ["not", "a", "log"]
    batch = tables.batch()
    outcome = batch.process(*_record(threat("t1")))
    assert outcome.verdict is Verdict.FOLDED
    tables.commit(batch)
    assert tables.values["tension"]["KAZ:RUS"]["state"]["events"] == 1


class _FailsOnLate(NoTimers):
    """Fails on the event id ``late``: a fold that is not total, met on the slow path."""

    name = "envoys"
    state_type = FOLDS[2].state_type

    def initial(self, key: str) -> Any:
        return FOLDS[2].initial(key)

    def apply(self, state: Any, event: DiplomaticEvent) -> Any:
        if event.event_id == "late":
            raise OverflowError("boom")
        return state, []


def test_a_late_event_a_fold_fails_on_leaves_the_log_as_it_was() -> None:
    tables = Tables((FOLDS[0], FOLDS[1], _FailsOnLate()))
    batch = tables.batch()
    for offset, event in enumerate(
        [threat("t1", "2022-10-10T00:00:00Z"), threat("t2", "2022-10-12T00:00:00Z")]
    ):
        batch.process(*_record(event), 0, offset)
    tables.commit(batch)
    before = json.dumps(tables.timeline["KAZ:RUS"])
    again = tables.batch()
    outcome = again.process(*_record(threat("late", "2022-10-11T00:00:00Z")), 0, 2)
    assert outcome.verdict is Verdict.DEAD_LETTER and outcome.kind == "fold_failed"
    after = again.process(*_record(threat("t3", "2022-10-13T00:00:00Z")), 0, 3)
    assert after.verdict is Verdict.FOLDED  # the failed record is not stuck in the log
    tables.commit(again)
    stored = tables.timeline["KAZ:RUS"]
    restored = DyadLog.load(tables.folds, stored, timedelta(days=LATENESS), tables.timeline)
    assert [e.event_id for e in restored.events] == ["t1", "t2", "t3"]
    assert before != json.dumps(stored)
