"""Event time with the record as the sources give it: acts dated only to a window,
announced or threatened rather than done, re-coded by corrections and retracted, all
delivered in any order within the allowed lateness, give the sorted log's state and
standing alerts — the log in which each correction has replaced its act."""

from __future__ import annotations

import random
from datetime import timedelta
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
from tests.unit.test_event_time import KINDS, PAIRS, T0, _arrival, _sort_key, through_the_worker

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


acts = st.lists(
    st.tuples(
        st.integers(0, len(PAIRS) - 1),
        st.floats(0, 300),
        st.integers(0, len(KINDS) - 1),
        st.booleans(),
        st.integers(0, len(MODES) - 1),
        st.sampled_from(SPANS),
    ),
    min_size=1,
    max_size=30,
)
#: What becomes of each act: kept, retracted, or corrected (re-coded within its pair and
#: day: another kind of act, mode or window).
fates = st.lists(
    st.tuples(
        st.sampled_from(["keep", "keep", "retract", "correct"]),
        st.integers(0, len(KINDS) - 1),
        st.integers(0, len(MODES) - 1),
        st.sampled_from(SPANS),
    ),
    max_size=30,
)


def _log(
    spec: list[tuple[int, float, int, bool, int, int]], fate: list[tuple[str, int, int, int]]
) -> tuple[list[DiplomaticEvent], list[DiplomaticEvent]]:
    """(every record, the sorted log they mean)."""
    records, meant = [], []
    for i, (pair, day, kind, flip, mode, span) in enumerate(spec):
        act = make_event(**_act(f"e{i}", pair, day, kind, flip, mode, span))
        records.append(act)
        what, new_kind, new_mode, new_span = fate[i] if i < len(fate) else ("keep", 0, 0, 0)
        if what == "retract":
            records.append(retraction(f"r{i}", act))
        elif what == "correct":
            fields = _act(f"c{i}", pair, day, new_kind, flip, new_mode, new_span)
            correction = make_event(**fields, corrects=act.event_id)
            records.append(correction)
            meant.append(correction)
        else:
            meant.append(act)
    return records, sorted(meant, key=_sort_key)


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
    fate: list[tuple[str, int, int, int]],
    lateness: float,
    rnd: random.Random,
    batch_size: int,
) -> None:
    records, meant = _log(spec, fate)
    folds = build_folds(Settings())
    until = max(r.occurred_at for r in records)
    reference, expected = fold_offline(folds, meant, lateness_days=lateness, until=until)
    arrived = _arrival(records, lateness, rnd)
    refused: list[tuple[DiplomaticEvent, str]] = []
    state, alerts = fold_offline(
        folds, arrived, lateness_days=lateness, until=until, refused=refused
    )
    assert refused == []
    assert state == reference
    assert standing(alerts) == standing(expected)
    values, raised = through_the_worker(arrived, until, lateness, batch_size)
    assert values == reference
    assert standing(raised) == standing(expected)


def _charts(records: list[DiplomaticEvent]) -> dict[str, list[Any]]:
    """Each pair's chart (``/api/tension/{dyad}``'s history) after the read model has
    read ``records`` from the events topic, in that order."""
    model = ReadModel(build_folds(Settings()), Topics(), "app")
    for record in records:
        model.on_event(record.dyad.encode(), encode_event(record), None)
    charts = {"-".join(p): model.history_points(":".join(sorted(p))) for p in PAIRS}
    return {pair: points for pair, points in charts.items() if points}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(acts, fates, st.randoms(use_true_random=False))
def test_the_chart_takes_back_retracted_and_corrected_acts_in_any_order(
    spec: list[tuple[int, float, int, bool, int, int]],
    fate: list[tuple[str, int, int, int]],
    rnd: random.Random,
) -> None:
    """The read model's chart history is folded from the events topic apart from the
    worker (folds/history.py): a retraction or correction takes its act back, or has
    it skipped when it comes later. Any order, redeliveries included, gives the chart
    of the log in which each correction has replaced its act."""
    records, meant = _log(spec, fate)
    arrived = records + rnd.sample(records, k=len(records) // 3)  # some read twice
    rnd.shuffle(arrived)
    assert _charts(arrived) == _charts(meant)
