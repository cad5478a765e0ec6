"""The tension fold: exact decay, order independence, levels with hysteresis, spikes."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from folds import TensionConfig, TensionFold, fold_all
from folds.decay import decayed_value, term
from tests.helpers import make_event, standing

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
    # The fall is a timer: due when the score crosses 0.75 x 12, fired in event time.
    due = fold.due(state)
    assert due is not None and T0 + timedelta(days=3) < due < T0 + timedelta(days=40)
    state, raised = fold.advance(state, due)
    assert [a.rule for a in raised] == ["tension.level_down"]
    assert raised[0].figures["to_level"] == "elevated" and state.band == 1
    assert raised[0].at == due and fold.scores(state, due)["conflict"] <= 9.0


def test_spike_needs_history_and_fires_once() -> None:
    # Thresholds out of reach: the spike is the only thing that can fire.
    fold = TensionFold(TensionConfig(spike_min_history_days=60, thresholds=(50, 100, 200)))
    early = [_accuse(1, 0)]
    burst = [_accuse(i, 200 + i * 0.1) for i in range(2, 5)]
    _, alerts = fold_all(fold, "KAZ:RUS", early + burst)
    assert [a.rule for a in alerts] == ["tension.spike"]
    assert alerts[0].evidence == ("e2",)


def test_a_spike_that_lifts_the_level_is_told_once_by_the_level_alert() -> None:
    fold = TensionFold(TensionConfig(spike_min_history_days=60))
    _, alerts = fold_all(fold, "KAZ:RUS", [_accuse(1, 0), _accuse(2, 200)])
    # Day 0: elevated; decays to calm by day 200 (noticed then); day 200 rises again.
    assert [a.rule for a in alerts] == [
        "tension.level_up",
        "tension.level_down",
        "tension.level_up",
    ]
    assert "baseline_before" in alerts[2].figures and "spike" in alerts[2].detail
    assert "baseline_before" not in alerts[0].figures  # no history yet: no spike


def test_a_fall_is_dated_when_the_decayed_score_crossed_the_line() -> None:
    fold = TensionFold(TensionConfig(thresholds=(6.0, 12.0, 24.0), hysteresis=0.75))
    _, alerts = fold_all(fold, "KAZ:RUS", [_accuse(1, 0), _accuse(2, 100)])
    fall = next(a for a in alerts if a.rule == "tension.level_down")
    # 7 points fall below 4.5 after 30 * log2(7 / 4.5) = 19.12 days, not on day 100.
    expected = T0 + timedelta(days=30 * math.log2(7 / 4.5))
    assert abs((fall.at - expected).total_seconds()) <= 1
    # The evidence is the last conflict act folded before the fall: e1 (e2 came later).
    assert fall.evidence == ("e1",) and fall.figures["to_level"] == "calm"


def _force(i: int, day: float, cameo: str = "190", action: str = "military_action"):
    return make_event(
        event_id=f"f{i}",
        occurred_at=(T0 + timedelta(days=day)).isoformat(),
        actor={"country": "RUS", "kind": "military"},
        target={"country": "UKR", "kind": "state"},
        action=action,
        cameo=cameo,
        envoy=None,
    )


def test_armed_conflict_holds_the_level_at_critical_and_silences_spikes() -> None:
    fold = TensionFold(TensionConfig(armed_conflict_lapse_days=1095))
    threat = _accuse(9, 400, dyad=("RUS", "UKR"))
    _, alerts = fold_all(fold, "RUS:UKR", [_force(1, 0), threat])
    # Day 0 rises to critical; the score has long decayed by day 400 but the war goes on:
    # no fall, and the threat is no spike against a wartime baseline.
    assert [(a.rule, a.figures["to_level"]) for a in alerts] == [("tension.level_up", "critical")]


def test_armed_conflict_lapses_or_ends_with_a_truce() -> None:
    fold = TensionFold(TensionConfig(armed_conflict_lapse_days=365))
    later = _accuse(9, 500, dyad=("RUS", "UKR"))
    _, alerts = fold_all(fold, "RUS:UKR", [_force(1, 0), later])
    fall = next(a for a in alerts if a.rule == "tension.level_down")
    assert fall.at == T0 + timedelta(days=365)  # held up by the war until it lapsed
    truce = _force(2, 50, cameo="0871", action="de_escalate")
    _, alerts = fold_all(fold, "RUS:UKR", [_force(1, 0), truce, later])
    fall = next(a for a in alerts if a.rule == "tension.level_down")
    assert fall.at == T0 + timedelta(days=50)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(min_value=0, max_value=1500), min_size=1, max_size=30), st.randoms())
def test_scores_are_identical_whatever_the_arrival_order(
    days: list[float], rnd: random.Random
) -> None:
    fold = TensionFold()
    events = [_accuse(i, d) for i, d in enumerate(days)]
    shuffled = events[:]
    rnd.shuffle(shuffled)
    wide = 10 * 365  # the shuffle spans up to 1,500 days: beyond the default lateness
    a, raised = fold_all(
        fold, "KAZ:RUS", sorted(events, key=lambda e: e.occurred_at), lateness_days=wide
    )
    b, corrected = fold_all(
        fold, "KAZ:RUS", shuffled + events[:3], lateness_days=wide
    )  # copies count once
    assert a is not None and a == b
    assert standing(raised) == standing(corrected)


def test_a_stored_sum_is_hex_text_and_decimal_text_stored_before_still_loads() -> None:
    from folds.tension import TensionState

    big = (1 << 14_000) + 12_345  # past Python's 4,300-digit limit for decimal text
    state = TensionState(dyad="KAZ:RUS", conflict_sum=big, baseline_sum=3)
    stored = state.model_dump(mode="json")
    assert stored["conflict_sum"] == f"0x{big:x}" and stored["baseline_sum"] == "0x3"
    assert TensionState.model_validate(stored) == state
    old = {**stored, "conflict_sum": str(1 << 1_000), "baseline_sum": "3"}  # before session 8
    assert TensionState.model_validate(old).conflict_sum == 1 << 1_000
    assert TensionState.model_validate(old).baseline_sum == 3
