"""Event time with the record as the sources give it: acts dated only to a window,
announced or threatened rather than done, re-coded by corrections and retracted, all
delivered in any order within the allowed lateness, give the sorted log's state and
standing alerts — the log in which each correction has replaced its act."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from folds.offline import fold_offline
from folds.registry import build_folds
from infra.settings import Settings
from infra.topics import Topics
from query.readmodel import ReadModel
from schemas.codec import encode_event
from schemas.events import DiplomaticEvent
from tests.helpers import make_event, retraction, standing
from tests.unit.test_event_time import (
    KINDS,
    PAIRS,
    T0,
    _arrival,
    _sort_key,
    acts_within,
    through_the_worker,
)

MODES = ("done", "done", "announced", "threatened", "demanded", "denied")
#: Days an act's window spans (0: the sources give the day).
SPANS = (0, 0, 0, 1, 5, 30, 90)


def _act(
    event_id: str, pair: int, day: float, kind: int, flip: bool, mode: int, span: int
) -> dict[str, Any]:
    actor, target = PAIRS[pair][::-1] if flip else PAIRS[pair]
    action, cameo, role = KINDS[kind]
    at = T0 + timedelta(days=day)
    fields: dict[str, Any] = {
        "event_id": event_id,
        "occurred_at": at.isoformat(),
        "actor": {"country": actor, "kind": "government"},
        "target": {"country": target, "kind": "state"},
        "action": action,
        "cameo": cameo,
        "envoy": None,
        "mode": MODES[mode],
    }
    if span:  # known only to a window: the folds use its start
        latest = at + timedelta(days=span)
        fields["date_precision"] = "window"
        fields["occurred_window"] = {"earliest": at.isoformat(), "latest": latest.isoformat()}
        fields["recorded_at"] = (latest + timedelta(days=1)).isoformat()
    if role == "host":
        fields["target"] = {"country": target, "kind": "envoy"}
        fields["envoy"] = {"sending_country": target, "host_country": actor}
    elif role == "sender":
        fields["envoy"] = {"sending_country": actor, "host_country": target}
    return fields


def acts_over(days: float, min_size: int) -> st.SearchStrategy[list[Any]]:
    """Up to 30 acts (pair, day, kind, flipped, mode, window span) within ``days``."""
    modes, spans = st.integers(0, len(MODES) - 1), st.sampled_from(SPANS)
    return acts_within(days, modes, spans, min_size=min_size, max_size=30)


acts = acts_over(300, 1)
#: What becomes of each act: kept, retracted, or corrected (re-coded within its pair:
#: another kind of act, mode or window); the retraction or correction dated this share
#: of the lateness from the act, earlier or later (the most ``check_replaces`` allows).
fate_of_one = st.tuples(
    st.sampled_from(["keep", "keep", "retract", "correct"]),
    st.integers(0, len(KINDS) - 1),
    st.integers(0, len(MODES) - 1),
    st.sampled_from(SPANS),
    st.sampled_from([0.0, 0.0, -1.0, -0.5, 0.5, 1.0]),
)
fates = st.lists(fate_of_one, max_size=30)
Fate = tuple[str, int, int, int, float]


def _log(
    spec: list[tuple[int, float, int, bool, int, int]], fate: list[Fate], lateness: float = 0
) -> tuple[list[DiplomaticEvent], list[DiplomaticEvent], dict[str, datetime]]:
    """(every record, the sorted log they mean, the act's date of each retraction or
    correction dated after its act: it must come while its act is within the lateness)."""
    records, meant, since = [], [], {}
    for i, (pair, day, kind, flip, mode, span) in enumerate(spec):
        act = make_event(**_act(f"e{i}", pair, day, kind, flip, mode, span))
        records.append(act)
        what, new_kind, new_mode, new_span, shift = (
            fate[i] if i < len(fate) else ("keep", 0, 0, 0, 0.0)
        )
        if what == "retract":
            records.append(retraction(f"r{i}", act, shift * lateness))
        elif what == "correct":
            moved = day + shift * lateness
            fields = _act(f"c{i}", pair, moved, new_kind, flip, new_mode, new_span)
            records.append(make_event(**fields, corrects=act.event_id))
            meant.append(records[-1])
        else:
            meant.append(act)
        if what != "keep" and records[-1].occurred_at > act.occurred_at:
            since[records[-1].event_id] = act.occurred_at
    return records, sorted(meant, key=_sort_key), since


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    acts,
    fates,
    st.sampled_from([1.0, 7.0, 30.0]),
    st.randoms(use_true_random=False),
    st.integers(1, 12),
)
def test_windows_modes_and_corrections_in_any_order_give_the_corrected_sorted_log(
    spec: list[tuple[int, float, int, bool, int, int]],
    fate: list[Fate],
    lateness: float,
    rnd: random.Random,
    batch_size: int,
) -> None:
    records, meant, since = _log(spec, fate, lateness)
    folds = build_folds(Settings())
    until = max(r.occurred_at for r in records)
    reference, expected = fold_offline(folds, meant, lateness_days=lateness, until=until)
    arrived = _arrival(records, lateness, rnd, since)
    refused: list[tuple[str, str]] = []
    state, alerts = fold_offline(
        folds, arrived, lateness_days=lateness, until=until, refused=refused
    )
    assert refused == []
    assert state == reference
    assert standing(alerts) == standing(expected)
    set_aside: list[str] = []
    values, raised = through_the_worker(arrived, until, lateness, batch_size, set_aside)
    assert values == reference
    assert standing(raised) == standing(expected)
    assert set_aside == []  # every retraction and correction met its act


def test_an_act_that_comes_after_its_correction_moved_it_earlier_is_skipped_when_late() -> None:
    """A correction may date its act up to the lateness earlier. It leaves a tombstone
    dated as itself, which the act meets when it comes — even when the act comes late,
    after the pair's base has moved past the correction's date (the tombstone is kept
    while an act it may name can still be placed)."""
    lateness = 30.0
    pair = [make_event(**_act(f"n{d}", 0, d, 1, False, 0, 0)) for d in range(0, 101, 2)]
    act = make_event(**_act("act", 0, 51, 0, False, 0, 0))
    fix = make_event(**_act("fix", 0, 51 - lateness, 0, False, 0, 0), corrects="act")
    meant = sorted([*pair, fix], key=_sort_key)
    # The correction on time; the act 29 days late, after the pair's events to day 80.
    arrived = [e for e in meant if e.occurred_at <= act.occurred_at + timedelta(days=29)]
    arrived += [act, *(e for e in meant if e not in arrived)]
    folds = build_folds(Settings())
    until = max(e.occurred_at for e in meant)
    reference, expected = fold_offline(folds, meant, lateness_days=lateness, until=until)
    refused: list[tuple[str, str]] = []
    state, alerts = fold_offline(
        folds, arrived, lateness_days=lateness, until=until, refused=refused
    )
    assert refused == []
    assert state["tension"]["KAZ:RUS"]["state"]["events"] == len(meant)
    assert state == reference
    assert standing(alerts) == standing(expected)
    set_aside: list[str] = []
    values, raised = through_the_worker(arrived, until, lateness, 5, set_aside)
    assert values == reference
    assert standing(raised) == standing(expected)
    assert set_aside == []


def _charts(records: list[DiplomaticEvent]) -> dict[str, list[Any]]:
    """Each pair's chart (``/api/tension/{dyad}``'s history) after the read model has
    read ``records`` from the events topic, in that order."""
    # Any order, as with no lateness: a year's lateness keeps the guard's ids for two.
    model = ReadModel(build_folds(Settings()), Topics(), "app", lateness_days=365)
    for record in records:
        model.chart.on_event(record.dyad.encode(), encode_event(record), None)
    charts = {"-".join(p): model.history_points(":".join(sorted(p))) for p in PAIRS}
    return {pair: points for pair, points in charts.items() if points}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(acts, fates, st.randoms(use_true_random=False))
def test_the_chart_takes_back_retracted_and_corrected_acts_in_any_order(
    spec: list[tuple[int, float, int, bool, int, int]],
    fate: list[Fate],
    rnd: random.Random,
) -> None:
    """The read model's chart history is folded from the events topic apart from the
    worker (folds/history.py): a retraction or correction takes its act back, or has
    it skipped when it comes later. Any order, redeliveries included, gives the chart
    of the log in which each correction has replaced its act."""
    records, meant, _ = _log(spec, fate, 30.0)
    arrived = records + rnd.sample(records, k=len(records) // 3)  # some read twice
    rnd.shuffle(arrived)
    assert _charts(arrived) == _charts(meant)


#: Acts within 90 days, a pair's often a few days apart: its base passes an act while a
#: record dated after it may still come.
dense = acts_over(90, 10)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    dense,
    st.lists(fate_of_one, min_size=10, max_size=30),
    st.sampled_from([7.0, 30.0]),
    st.randoms(use_true_random=False),
)
def test_records_delayed_past_the_lateness_fold_as_the_sorted_log_of_those_not_refused(
    spec: list[tuple[int, float, int, bool, int, int]],
    fate: list[Fate],
    lateness: float,
    rnd: random.Random,
) -> None:
    """Records delayed by up to four times the lateness: some are refused as too late —
    an act behind its pair's base, or a retraction or correction that comes after its
    act settled. The rest, sorted, fold to the same state and standing alerts: no act is
    counted beside the correction that replaced it (as one that came after its act
    settled was, until session 24), none that a folded retraction took back."""
    records, _, _ = _log(spec, fate, lateness)
    delayed = sorted(
        records,
        key=lambda r: (r.occurred_at + timedelta(days=rnd.uniform(0, 4 * lateness)), r.event_id),
    )
    folds = build_folds(Settings())
    until = max(e.occurred_at for e in records)
    kinds: dict[str, str] = {}
    values, raised = through_the_worker(delayed, until, lateness, rnd.randint(1, 9), kinds=kinds)
    assert set(kinds.values()) <= {"too_late"}
    kept = sorted((r for r in records if r.event_id not in kinds), key=_sort_key)
    reference, expected = fold_offline(folds, kept, lateness_days=lateness, until=until)
    assert values == reference
    assert standing(raised) == standing(expected)
    # The offline fold in the same order (one partition: its refusals may differ).
    refused: list[tuple[str, str]] = []
    state, alerts = fold_offline(
        folds, delayed, lateness_days=lateness, until=until, refused=refused
    )
    out = {i for i, why in refused if "nothing was" not in why}  # (not set-asides)
    kept = sorted((r for r in records if r.event_id not in out), key=_sort_key)
    reference, expected = fold_offline(folds, kept, lateness_days=lateness, until=until)
    assert state == reference
    assert standing(alerts) == standing(expected)
