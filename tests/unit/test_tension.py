"""The tension fold: exact decay, order independence, levels with hysteresis, spikes."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from streams.folds import TensionConfig, TensionFold, fold_all
from streams.folds.decay import decayed_value, term
from tests.helpers import make_event

T0 = datetime(2022, 1, 1, tzinfo=UTC)


def _accuse(i: int, day: float, dyad: tuple[str, str] = ("RUS", "KAZ")):
    return make_event(
        event_id=f"e{i}",
        occurred_at=(T0 + timedelta(days=day)).isoformat(),
        actor={"country": dyad[0], "kind": "state"},
        target={"country": dyad[1], "kind": "state"},
        action="threaten",
        cameo="138",
        envoy=None,  # goldstein -7
    )


def test_a_weight_halves_after_one_half_life() -> None:
    total = term(-8.0, T0, 30.0)
    assert abs(decayed_value(total, T0, 30.0) - 8.0) < 1e-6
    assert abs(decayed_value(total, T0 + timedelta(days=30), 30.0) - 4.0) < 1e-6
    assert abs(decayed_value(total, T0 + timedelta(days=90), 30.0) - 1.0) < 1e-6


def test_level_rises_and_falls_once_without_flapping() -> None:
    fold = TensionFold(TensionConfig(thresholds=(6.0, 12.0, 24.0), hysteresis=0.75))
    events = [_accuse(1, 0), _accuse(2, 1)]  # 7 then ~13.8: elevated, then high
    _, alerts = fold_all(fold, "KAZ:RUS", events)
    assert [a.rule for a in alerts] == ["tension.level_up", "tension.level_up"]
    assert [a.figures["to_level"] for a in alerts] == ["elevated", "high"]
    # Hovering just under the high threshold (but above 0.75 of it) raises nothing.
    state = fold.initial("KAZ:RUS")
    for e in events:
        state, _ = fold.apply(state, e)
    quiet = make_event(
        event_id="q",
        occurred_at=(T0 + timedelta(days=3)).isoformat(),
        actor={"country": "RUS", "kind": "state"},
        target={"country": "KAZ", "kind": "state"},
        action="statement",
        cameo="010",
        envoy=None,
    )
    state, raised = fold.apply(state, quiet)
    assert raised == [] and state.band == 2
    later = quiet.model_copy(update={"event_id": "q2", "occurred_at": T0 + timedelta(days=40)})
    state, raised = fold.apply(state, later)
    assert [a.rule for a in raised] == ["tension.level_down"]
    assert raised[0].figures["to_level"] == "elevated" and state.band == 1


def test_spike_needs_history_and_fires_once() -> None:
    fold = TensionFold(TensionConfig(spike_min_history_days=60))
    early = [_accuse(1, 0)]
    burst = [_accuse(i, 200 + i * 0.1) for i in range(2, 5)]
    _, alerts = fold_all(fold, "KAZ:RUS", early + burst)
    assert [a.rule for a in alerts].count("tension.spike") == 1
    spike = next(a for a in alerts if a.rule == "tension.spike")
    assert spike.evidence == ("e2",)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(min_value=0, max_value=1500), min_size=1, max_size=30), st.randoms())
def test_scores_are_identical_whatever_the_arrival_order(
    days: list[float], rnd: random.Random
) -> None:
    fold = TensionFold()
    events = [_accuse(i, d) for i, d in enumerate(days)]
    shuffled = events[:]
    rnd.shuffle(shuffled)
    a, _ = fold_all(fold, "KAZ:RUS", events)
    b, _ = fold_all(fold, "KAZ:RUS", shuffled + events[:3])  # redelivery counts once
    assert a is not None and b is not None
    for key in ("conflict_sum", "cooperation_sum", "baseline_sum", "events", "as_of", "first_at"):
        assert a["state"][key] == b["state"][key]
    assert a["seen"] == b["seen"]
