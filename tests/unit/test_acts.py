"""The acts the read model keeps for ``POST /events``'s checks: the pair and day of each
act read, for the dedup horizon behind the latest act, packed a week at a time
(query/acts.py); the chart's guard keeps its ids for far less (query/chart.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from folds.guard import event_digest
from folds.registry import build_folds
from infra.settings import Settings
from infra.topics import Topics
from query.acts import RECENT_DAYS, ActIndex
from query.chart import chart_horizon
from query.readmodel import ReadModel
from query.web import misplaced
from schemas.codec import encode_event
from schemas.events import EPOCH
from tests.helpers import make_event, threat

T0 = datetime(2023, 1, 2, tzinfo=UTC)
PAIRS = ("KAZ:RUS", "RUS:UKR", "KAZ:UKR")

#: (day, pair) of each act, in the order read: mostly forward, some far behind.
reads = st.lists(st.tuples(st.integers(0, 400), st.integers(0, 2)), max_size=300)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(reads, st.sampled_from([10, 30, 90, 730]), st.booleans())
def test_the_index_answers_as_a_dict_of_the_acts_within_their_pairs_horizon(
    spec: list[tuple[int, int]], horizon: int, forward: bool
) -> None:
    """Whatever the order of reading (forward, or any), the index finds each act read
    within ``horizon`` days of its pair's latest act, with its pair and day, and no
    other: as a plain dict of them would, though most of its weeks are packed and those
    past the horizon of the latest act read are dropped."""
    if forward:
        spec = sorted(spec)
    index = ActIndex(horizon)
    held: dict[str, tuple[str, int]] = {}
    latest: dict[str, int] = {}
    for i, (day, pair) in enumerate(spec):
        at = T0 + timedelta(days=day, hours=i % 24)
        index.add(f"act-{i}", PAIRS[pair], at)
        held[f"act-{i}"] = (PAIRS[pair], (at - EPOCH).days)
        latest[PAIRS[pair]] = max(latest.get(PAIRS[pair], 0), (at - EPOCH).days)
    for i in range(len(spec) + 5):
        want = held.get(f"act-{i}")
        if want is not None and want[1] < latest[want[0]] - horizon:
            want = None
        assert index.get(f"act-{i}") == want
    if spec:
        assert index.latest == max(latest.values())
        # Every week RECENT_DAYS behind the latest act is packed; none past the horizon.
        assert all((w + 1) * 7 > index.latest - RECENT_DAYS for w in index._open)
        assert all((w + 1) * 7 > index.latest - horizon for w in index._packed)


def test_an_old_act_of_a_quiet_pair_is_kept_while_its_pair_has_nothing_newer() -> None:
    index = ActIndex(730)
    index.add("old", "KAZ:UKR", T0)
    for week in range(200):  # four years of another pair
        index.add(f"w{week}", "KAZ:RUS", T0 + timedelta(weeks=week))
    assert index.get("old") == ("KAZ:UKR", (T0 - EPOCH).days)
    assert index.get("w0") is None and index.get("w199") is not None
    held = len(index)  # the quiet act, two years of weeks, the rest of a week at most
    assert 1 + 730 // 7 <= held <= 1 + 730 // 7 + 2 and len(index._quiet) == 1
    index.add("new", "KAZ:UKR", T0 + timedelta(weeks=200))  # the quiet pair moves on
    assert index.get("old") is None and index._quiet == {} and len(index) <= held


def test_late_acts_of_a_packed_week_are_packed_in_once_they_are_many() -> None:
    index = ActIndex(730)
    index.add("first", "KAZ:RUS", T0)
    index.add("later", "KAZ:RUS", T0 + timedelta(days=60))  # T0's week is packed
    for i in range(3_000):
        index.add(f"late-{i}", PAIRS[i % 3], T0 + timedelta(days=i % 7))
    assert len(index) == 3_002
    assert sum(map(len, index._late.values())) <= 1024
    assert index.get("late-2999") == (PAIRS[2999 % 3], (T0 - EPOCH).days + 2999 % 7)
    assert index.get("first") == ("KAZ:RUS", (T0 - EPOCH).days)


def test_the_read_model_finds_an_act_past_its_charts_horizon() -> None:
    """An act 200 days behind its pair's latest event: past the chart's guard (68 days
    at 30 days' lateness), within the two years ``POST /events`` checks against — which
    refuses a correction of it, naming the pair's latest event."""
    model = ReadModel(build_folds(Settings()), Topics(), "app", lateness_days=30)
    assert model.chart.horizon_days == chart_horizon(30) == 68
    act = threat("act", T0.isoformat())
    model.chart.on_event(b"KAZ:RUS", encode_event(act), None)
    for week in range(1, 30):
        later = threat(f"w{week}", (T0 + timedelta(weeks=week)).isoformat())
        model.chart.on_event(b"KAZ:RUS", encode_event(later), None)
    guard = model.chart.histories["KAZ:RUS"]
    # The chart's guard keeps 68 days of ids (swept every 30): not the act's.
    assert event_digest("act") not in guard.seen and len(guard.seen) <= (68 + 30) // 7 + 1
    latest = T0 + timedelta(weeks=29)
    assert model.act_of("act") == ("KAZ:RUS", T0, latest)
    fix = make_event(
        event_id="fix",
        corrects="act",
        occurred_at=T0.isoformat(),
        action="threaten",
        cameo="138",
        actor={"country": "RUS", "kind": "government"},
        target={"country": "KAZ", "kind": "state"},
        envoy=None,
    )
    [error] = misplaced(model, [fix], 30)
    assert f"behind KAZ:RUS's latest event ({latest.date()})" in error["message"]
    assert model.act_of("not-read") is None
