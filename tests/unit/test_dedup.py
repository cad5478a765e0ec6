"""Dedup by event id, bounded by a horizon of event time behind each dyad's clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from folds import TensionFold, fold_all, guarded_apply
from folds.guard import TooLate
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


def test_the_dedup_set_forgets_what_falls_behind_the_horizon() -> None:
    events = [_event(i, i * 10) for i in range(100)]  # 990 days of history
    value, _ = fold_all(TensionFold(), "KAZ:RUS", events, horizon_days=100)
    assert value is not None
    assert len(value["seen"]) == 11  # days 890..990: the size follows the rate, not history
    assert value["state"]["events"] == 100


def test_redelivery_within_the_horizon_counts_once_in_any_order() -> None:
    events = [_event(i, i) for i in range(30)]
    a, _ = fold_all(TensionFold(), "KAZ:RUS", events, horizon_days=60)
    b, _ = fold_all(TensionFold(), "KAZ:RUS", events[::-1] + events[5:20], horizon_days=60)
    assert a == b


def test_an_event_behind_the_horizon_is_refused_with_its_reason() -> None:
    value, _ = fold_all(TensionFold(), "KAZ:RUS", [_event(1, 1000)], horizon_days=730)
    with pytest.raises(TooLate, match=r"'d2' of 2020-01-01 is more than 730 days behind"):
        guarded_apply(TensionFold(), "KAZ:RUS", value, _event(2, 0), 730)
    refused: list = []  # type: ignore[type-arg]
    state, _ = fold_offline(
        build_folds(Settings()), [_event(1, 1000), _event(2, 0)], horizon_days=730, refused=refused
    )
    assert [e.event_id for e, _ in refused] == ["d2"]
    assert state["tension"]["KAZ:RUS"]["state"]["events"] == 1
