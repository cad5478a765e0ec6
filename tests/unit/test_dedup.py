"""Dedup: redeliveries by source offset, re-published copies by the ids a dyad retains
within the allowed lateness; an event past the allowed lateness is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest

from folds import DyadLog, TensionFold, TooLate, fold_all
from folds.offline import fold_offline
from folds.registry import build_folds
from infra.settings import Settings
from tests.helpers import make_event

T0 = datetime(2020, 1, 1, tzinfo=UTC)


def _event(i: int, day: float):
    return make_event(
        event_id=f"d{i}",
        occurred_at=(T0 + timedelta(days=day)).isoformat(),
        actor={"country": "RUS", "kind": "state"},
        target={"country": "KAZ", "kind": "state"},
        action="criticize",
        cameo="111",
        envoy=None,
    )


def test_a_dyad_retains_the_events_of_the_lateness_not_its_history() -> None:
    log = DyadLog([TensionFold()], "KAZ:RUS", timedelta(days=100))
    for i in range(100):  # 990 days of history
        log.add(_event(i, i * 10))
    log.advance(T0 + timedelta(days=990))
    dumped = orjson.loads(orjson.dumps(log.dump()))  # as the changelog carries it
    assert [e["event_id"] for e in dumped["events"]] == [f"d{i}" for i in range(89, 100)]
    # The base is the checkpoint of the week d89 entered: after d88, before d89.
    base_at = datetime.fromisoformat(dumped["base_at"])
    assert T0 + timedelta(days=880) < base_at <= T0 + timedelta(days=890)
    assert log.state("tension").events == 100


def test_a_redelivered_offset_changes_nothing() -> None:
    log = DyadLog([TensionFold()], "KAZ:RUS", timedelta(days=30))
    assert log.add(_event(1, 0), offset=7).moved
    again = log.add(_event(1, 0), offset=7)
    assert not again.moved and "offset 7 already folded" in again.duplicate
    copy = log.add(_event(1, 0), offset=9)  # the same event published again
    assert "already folded" in copy.duplicate and log.state("tension").events == 1


def test_copies_within_the_lateness_count_once_in_any_order() -> None:
    events = [_event(i, i) for i in range(30)]
    a, _ = fold_all(TensionFold(), "KAZ:RUS", events, lateness_days=60)
    b, _ = fold_all(TensionFold(), "KAZ:RUS", events[::-1] + events[5:20], lateness_days=60)
    assert a == b and a is not None and a["state"]["events"] == 30


def test_an_event_past_the_allowed_lateness_is_refused_with_its_reason() -> None:
    log = DyadLog([TensionFold()], "KAZ:RUS", timedelta(days=730))
    log.add(_event(1, 1000))
    with pytest.raises(TooLate, match=r"'d2' of 2020-01-01 is past the allowed lateness: more"):
        log.add(_event(2, 0))
    log.add(_event(3, 271))  # day 271 >= 1000 - 730 (on the day grid): placed exactly
    assert log.state("tension").events == 2
    refused: list = []  # type: ignore[type-arg]
    events = [_event(1, 1000), _event(2, 0)]
    state, _ = fold_offline(build_folds(Settings()), events, lateness_days=730, refused=refused)
    assert [i for i, _ in refused] == ["d2"]
    assert state["tension"]["KAZ:RUS"]["state"]["events"] == 1


def test_a_value_stored_with_events_as_text_still_loads() -> None:
    """Before session 7 a value held each retained event as a JSON string; now as an
    embedded object. A worker recovering an old changelog reads both the same."""
    log = DyadLog([TensionFold()], "KAZ:RUS", timedelta(days=30))
    for i in range(5):
        log.add(_event(i, i))
    stored = orjson.loads(orjson.dumps(log.dump()))
    old = {**stored, "events": [orjson.dumps(e).decode() for e in stored["events"]]}
    for value in (stored, old):
        again = DyadLog.load([TensionFold()], value, timedelta(days=30))
        assert orjson.loads(orjson.dumps(again.dump())) == stored
