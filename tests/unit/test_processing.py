"""The agent's decisions, record by record, without Faust or a broker."""

from __future__ import annotations

from typing import Any

import pytest

from folds.offline import fold_offline
from folds.registry import build_folds
from infra.settings import Settings
from replay.loader import bundled_corpus, load_paths
from schemas.codec import encode_event
from schemas.events import DiplomaticEvent
from streams.processing import Batch, Verdict
from tests.helpers import make_event, threat

CORPUS = [item.event for item in load_paths([bundled_corpus()]).events]
FOLDS = build_folds(Settings())


class Tables:
    """Dict-backed tables, written at batch ends as the agent writes Faust's."""

    def __init__(self) -> None:
        self.values: dict[str, dict[str, Any]] = {f.name: {} for f in FOLDS}
        self.writes = 0

    def read(self, name: str, dyad: str) -> Any:
        return self.values[name].get(dyad)

    def batch(self) -> Batch[int]:
        return Batch(FOLDS, self.read, 730)

    def commit(self, batch: Batch[int]) -> list[tuple[str, str, int]]:
        done = []
        for name, dyad, value, record in batch.writes():
            # The stored form is the JSON a changelog carries, as after a recovery.
            self.values[name][dyad] = value.dump()
            done.append((name, dyad, record))
        self.writes += len(done)
        return done


def _record(event: DiplomaticEvent) -> tuple[bytes, bytes, float]:
    return event.dyad.encode(), encode_event(event), event.occurred_at.timestamp()


@pytest.mark.parametrize("batch_size", [1, 7, 500])
def test_batches_of_any_size_fold_the_corpus_as_the_offline_pipeline(batch_size: int) -> None:
    tables, raised = Tables(), []
    for start in range(0, len(CORPUS), batch_size):
        batch = tables.batch()
        for i, event in enumerate(CORPUS[start : start + batch_size]):
            outcome = batch.process(*_record(event), start + i)
            assert outcome.verdict is Verdict.FOLDED
            assert outcome.folded is not None
            raised.extend(outcome.folded.alerts)
        tables.commit(batch)
    state, expected = fold_offline(FOLDS, CORPUS)
    assert raised == expected
    assert tables.values == state


def test_a_dyad_touched_many_times_in_a_batch_is_written_once_with_its_last_record() -> None:
    tables = Tables()
    batch = tables.batch()
    events = [threat(f"t{i}", f"2022-10-0{i + 1}T00:00:00Z") for i in range(3)]
    for i, event in enumerate(events):
        batch.process(*_record(event), i)
    assert tables.commit(batch) == [(f.name, "KAZ:RUS", 2) for f in FOLDS]


def test_a_redelivered_record_is_a_duplicate_for_every_fold_and_writes_nothing() -> None:
    tables = Tables()
    first = tables.batch()
    first.process(*_record(threat("t1")), 0)
    tables.commit(first)
    again = tables.batch()
    outcome = again.process(*_record(threat("t1")), 1)
    assert outcome.verdict is Verdict.FOLDED and outcome.folded is not None
    assert outcome.folded.duplicate_in == [f.name for f in FOLDS]
    assert outcome.folded.alerts == [] and tables.commit(again) == []


def test_a_record_keyed_by_something_else_is_rekeyed_not_folded() -> None:
    tables = Tables()
    batch = tables.batch()
    _, value, stamp = _record(threat("t1"))
    outcome = batch.process(b"RUS:KAZ", value, stamp, 0)
    assert (outcome.verdict, outcome.dyad) == (Verdict.REKEY, "KAZ:RUS")
    assert tables.commit(batch) == []


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (b"{not json", "not JSON"),
        (None, "tombstone"),
        (b'{"event_id": "x"}', "occurred_at"),
        (b"[1, 2]", "expected a JSON object"),
    ],
)
def test_an_unreadable_record_is_dead_lettered_with_its_reason(
    value: bytes | None, reason: str
) -> None:
    outcome = Tables().batch().process(b"KAZ:RUS", value, None, 0)
    assert outcome.verdict is Verdict.DEAD_LETTER
    assert reason in outcome.reason


def test_an_event_dated_after_its_record_is_dead_lettered() -> None:
    event = make_event(occurred_at="2022-10-04T00:00:00Z")
    key, value, stamp = _record(event)
    outcome = Tables().batch().process(key, value, stamp - 3 * 86_400, 0)
    assert outcome.verdict is Verdict.DEAD_LETTER
    assert "in the future of its record" in outcome.reason


def test_an_event_behind_the_horizon_is_dead_lettered_before_any_fold_moves() -> None:
    tables = Tables()
    batch = tables.batch()
    batch.process(*_record(threat("new", "2025-01-01T00:00:00Z")), 0)
    outcome = batch.process(*_record(threat("old", "2022-01-01T00:00:00Z")), 1)
    assert outcome.verdict is Verdict.DEAD_LETTER
    assert "dedup horizon" in outcome.reason
    tables.commit(batch)
    assert tables.values["tension"]["KAZ:RUS"]["state"]["events"] == 1


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
    outcome = batch.process(b"KAZ:RUS", value, None, 0)
    assert outcome.verdict is Verdict.DEAD_LETTER and reason in outcome.reason
    after = batch.process(*_record(threat("t1")), 1)
    assert after.verdict is Verdict.FOLDED
    assert after.folded is not None and after.folded.alerts


class _Failing:
    """A fold that fails on every event: stands in for a fold that is not total."""

    name = "envoys"
    state_type = FOLDS[2].state_type

    def initial(self, key: str) -> Any:
        return FOLDS[2].initial(key)

    def apply(self, state: Any, event: DiplomaticEvent) -> Any:
        raise OverflowError("boom")


def test_a_fold_that_fails_dead_letters_the_record_and_moves_no_state() -> None:
    tables = Tables()
    batch = Batch((FOLDS[0], FOLDS[1], _Failing()), tables.read, 730)
    outcome = batch.process(*_record(threat("t1")), 0)
    assert outcome.verdict is Verdict.DEAD_LETTER
    assert (
        "fold 'envoys' failed on event 't1'" in outcome.reason and "OverflowError" in outcome.reason
    )
    assert list(batch.writes()) == []  # tension and summons did not move either


def test_a_stored_value_that_cannot_be_read_back_is_discarded_not_fatal() -> None:
    tables = Tables()
    tables.values["tension"]["KAZ:RUS"] = {"seen": {}, "clock": 1, "state": {"dyad": 5}}
    tables.values["summons"]["KAZ:RUS"] = ["not", "a", "guard"]
    batch = tables.batch()
    outcome = batch.process(*_record(threat("t1")), 0)
    assert outcome.verdict is Verdict.FOLDED
    assert [(n, d) for n, d, _ in batch.discarded] == [
        ("tension", "KAZ:RUS"),
        ("summons", "KAZ:RUS"),
    ]
    tables.commit(batch)
    assert tables.values["tension"]["KAZ:RUS"]["state"]["events"] == 1
