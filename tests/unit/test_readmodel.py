"""The read model's bookkeeping, fed by hand (its consumer is tested on real brokers)."""

from __future__ import annotations

import asyncio
import json

import pytest

from folds.offline import fold_offline
from folds.registry import build_folds
from infra.settings import Settings
from infra.topics import Topics
from query import readmodel
from query.readmodel import ReadModel
from replay.loader import bundled_corpus, load_paths
from schemas.alerts import withdrawal
from schemas.codec import encode_alert
from tests.helpers import timeline_values

EVENTS = [item.event for item in load_paths([bundled_corpus()]).events]


def _model(max_alerts: int = 2000) -> ReadModel:
    return ReadModel(build_folds(Settings()), Topics(), "app", max_alerts)


def test_changelog_values_become_states_and_tombstones_forget() -> None:
    states, _ = fold_offline(build_folds(Settings()), EVENTS)
    model = _model()
    for dyad, value in timeline_values(states).items():
        model.on_changelog(json.dumps(dyad).encode(), json.dumps(value).encode())
    model.on_changelog(b'"~watermark/0"', b'{"watermark": "2025-01-01T00:00:00+00:00"}')
    assert (
        model.states["envoys"]["KAZ:UKR"].model_dump(mode="json")
        == (states["envoys"]["KAZ:UKR"]["state"])
    )
    assert "KAZ:UKR" in model.states["tension"]
    model.on_changelog(b'"KAZ:UKR"', None)
    assert "KAZ:UKR" not in model.states["envoys"] and "KAZ:UKR" not in model.states["tension"]
    model.on_changelog(b'"KAZ:RUS"', b'{"head": null}')  # e.g. its only event retracted
    assert "KAZ:RUS" not in model.states["summons"]
    # A chunk of a dyad's retained events (folds/stored.py), and its tombstone: not states.
    model.on_changelog(b'"KAZ:UKR#3"', b'{"dyad": "KAZ:UKR", "partition": 0, "events": []}')
    model.on_changelog(b'"KAZ:UKR#3"', None)
    assert "KAZ:UKR#3" not in model.states["tension"] and not model.unreadable


def test_alerts_are_kept_once_newest_first_and_bounded() -> None:
    _, alerts = fold_offline(build_folds(Settings()), EVENTS)
    model = _model(max_alerts=10)
    for alert in alerts + alerts:  # a redelivery carries the same ids
        model.on_alert(encode_alert(alert))
    kept = model.alerts()
    assert len(kept) == 10
    assert [a.at for a in kept] == sorted((a.at for a in kept), reverse=True)
    assert model.on_alert(b"not an alert") is None


def test_a_withdrawn_alert_is_marked_and_a_revision_replaces_it() -> None:
    _, alerts = fold_offline(build_folds(Settings()), EVENTS)
    first = alerts[0]
    model = _model()
    model.on_alert(encode_alert(first))
    model.on_alert(encode_alert(withdrawal(first)))
    assert model.withdrawn == {first.alert_id: withdrawal(first).alert_id}
    revised = first.model_copy(update={"title": first.title + " (revised)"})
    assert model.on_alert(encode_alert(revised)) == revised
    assert model.withdrawn == {}
    assert {a.alert_id: a for a in model.alerts()}[first.alert_id].title.endswith("(revised)")


def test_a_subscriber_that_stops_reading_is_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(readmodel, "_SUBSCRIBER_BACKLOG", 3)
    _, alerts = fold_offline(build_folds(Settings()), EVENTS)
    model = _model()

    async def run() -> tuple[bool, bool, int]:
        with model.subscribe() as slow, model.subscribe() as fast:
            for alert in alerts[:5]:
                model.on_alert(encode_alert(alert))
                if not fast.empty():
                    fast.get_nowait()
            return model.subscribed(slow), model.subscribed(fast), slow.qsize()

    slow_on, fast_on, backlog = asyncio.run(run())
    assert (slow_on, fast_on, backlog) == (False, True, 3)


def test_an_unreadable_changelog_value_is_skipped_counted_and_not_fatal() -> None:
    model = _model()
    model.on_changelog(b'"KAZ:RUS"', b"[" * 100_000 + b"]" * 100_000)
    model.on_changelog(b'"KAZ:RUS"', b'{"head": {"tension": {"dyad": 1}}}')
    model.on_changelog(b"not json", b"{}")
    assert model.unreadable == {"app-timeline-state-changelog": 3}
    assert "KAZ:RUS" not in model.states["tension"]
