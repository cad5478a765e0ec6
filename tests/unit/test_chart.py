"""The chart's history holds what the worker folded, not what it refused: it follows
the dead-letter topic as well as the events topic, in any order of the two
(query/chart.py)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from folds.registry import build_folds
from infra.settings import Settings
from infra.topics import KIND_HEADER, SOURCE_HEADER, Topics
from query.readmodel import ReadModel
from schemas.events import DiplomaticEvent
from streams.processing import Verdict
from tests.helpers import make_event, retraction, threat
from tests.unit.test_event_time import PAIRS, _event, acts_within
from tests.unit.test_processing import Tables, _record

T0 = datetime(2023, 1, 2, tzinfo=UTC)
TOPICS = Topics()
Record = tuple[bytes, bytes, float]


def _worker(records: list[Record], lateness: float) -> list[tuple[int, list[Any]]]:
    """The records through the worker's processing (partition 0, offset = index):
    the dead letters it would send, as (offset, headers)."""
    tables, dead = Tables(lateness=lateness), []
    batch = tables.batch()
    for offset, record in enumerate(records):
        outcome = batch.process(*record, 0, offset)
        if outcome.verdict is Verdict.DEAD_LETTER:
            source = f"{TOPICS.events}:0:{offset}".encode()
            dead.append((offset, [(SOURCE_HEADER, source), (KIND_HEADER, outcome.kind.encode())]))
    return dead


def _chart(
    records: list[Record],
    dead: list[tuple[int, list[Any]]],
    lateness: float,
    rnd: random.Random | None = None,
) -> dict[str, list[Any]]:
    """Each pair's chart after the read model has read ``records`` (partition 0) and the
    dead letters, the two topics interleaved at random (``rnd``) or the letters last;
    its guard keeps ids for ``chart_horizon(lateness)`` days."""
    model = ReadModel(build_folds(Settings()), TOPICS, "app", lateness_days=lateness)
    reads: list[tuple[str, int]] = [("event", i) for i in range(len(records))]
    letters = [("dead", i) for i in range(len(dead))]
    if rnd is None:
        reads += letters
    else:  # each topic in its order, the two merged at random
        for letter in letters:
            reads.insert(rnd.randint(0, len(reads)), letter)
        reads = _in_order(reads)
    for what, i in reads:
        if what == "event":
            model.chart.on_event(*records[i], 0, i)
        else:
            model.chart.on_dead_letter(dead[i][1])
    charts = {":".join(sorted(p)): model.history_points(":".join(sorted(p))) for p in PAIRS}
    return {pair: points for pair, points in charts.items() if points}


def _in_order(reads: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """``reads`` with each topic's records back in their own order (a merge)."""
    events = iter(sorted(i for w, i in reads if w == "event"))
    letters = iter(sorted(i for w, i in reads if w == "dead"))
    return [(w, next(events) if w == "event" else next(letters)) for w, _ in reads]


def _threat(event_id: str, day: float) -> DiplomaticEvent:
    return threat(event_id, (T0 + timedelta(days=day)).isoformat())


def test_a_threat_the_worker_refused_as_too_late_is_not_in_the_chart() -> None:
    pair = [_threat(f"n{d}", d) for d in range(0, 200, 9)]
    # 48 days behind the pair: past the worker's 30 days' lateness, within the chart's 68.
    late = _threat("late", 150)
    records = [_record(e) for e in [*pair, late]]
    dead = _worker(records, 30.0)
    assert [o for o, _ in dead] == [len(pair)]  # the worker refused it
    folded = _chart(records[:-1], [], 30.0)
    assert _chart(records, [], 30.0) != folded  # without the letters: the gap
    assert _chart(records, dead, 30.0) == folded
    for seed in range(5):  # the letter read before, with or after the record
        assert _chart(records, dead, 30.0, random.Random(seed)) == folded


def test_a_correction_refused_after_its_act_settled_leaves_the_act_in_the_chart() -> None:
    """A correction dated 20 days after its act, re-coding a threat as a use of force,
    that comes once the act has settled: the worker refuses it (the act stands, once),
    and the chart, which had put the correction in the act's place, puts the act back."""
    act = _threat("act", 10)
    fields = {**act.model_dump(mode="json"), "event_id": "fix", "corrects": "act"}
    fields.update(occurred_at=(T0 + timedelta(days=30)).isoformat(), action="military_action")
    fix = make_event(**{**fields, "cameo": "190", "goldstein": -10.0})
    pair = [_threat(f"n{d}", d) for d in range(12, 60, 9)]  # the base passes day 10
    records = [_record(e) for e in [act, *pair, fix]]
    dead = _worker(records, 30.0)
    assert [o for o, _ in dead] == [len(records) - 1]  # the correction, as too late
    assert _worker(records[:1] + records[-1:] + records[1:-1], 30.0) == []  # in time
    without = _chart(records[:-1], [], 30.0)
    assert _chart(records, [], 30.0) != without  # the chart alone took the act out
    assert _chart(records, dead, 30.0) == without
    for seed in range(5):
        assert _chart(records, dead, 30.0, random.Random(seed)) == without


def _replacing(i: int, act: DiplomaticEvent, fate: str, days: float) -> DiplomaticEvent:
    """A retraction (dated up to the lateness after its act) or a correction (re-dated
    by up to the lateness) of ``act``."""
    if fate == "retract":
        return retraction(f"r{i}", act, days_after=abs(days))
    at = (act.occurred_at + timedelta(days=days)).isoformat()
    fields = act.model_dump(mode="json")
    return make_event(
        **{**fields, "event_id": f"c{i}", "corrects": act.event_id, "occurred_at": at}
    )


#: Acts within 60 days: dense enough that records delayed past the lateness are refused.
dense = acts_within(60)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    dense,
    st.lists(st.sampled_from(["", "", "retract", "correct"]), max_size=40),
    st.sampled_from([1.0, 7.0, 30.0]),
    st.randoms(use_true_random=False),
)
def test_any_log_gives_the_chart_of_what_the_worker_folded(
    spec: list[tuple[int, float, int, bool]],
    fates: list[str],
    lateness: float,
    rnd: random.Random,
) -> None:
    """Records delayed by up to four times the lateness (many refused as too late),
    retractions and corrections among them (dated up to the lateness from their act),
    some published twice: read with the dead letters in any interleaving, the chart is
    the chart of the records the worker did not refuse (the guard keeping ids for
    ``chart_horizon(lateness)`` days). A correction refused because its act had
    settled is rare here: the case above shows it."""
    events = [_event(i, *s) for i, s in enumerate(spec)]
    replacing = [
        _replacing(i, e, fate, rnd.uniform(-lateness, lateness))
        for i, (e, fate) in enumerate(zip(events, fates, strict=False))
        if fate
    ]
    log = events + replacing
    log += rnd.sample(log, k=len(log) // 4)  # copies
    delayed = sorted(
        (e.occurred_at + timedelta(days=rnd.uniform(0, 4 * lateness)), i, e)
        for i, e in enumerate(log)
    )
    records = [_record(e) for _, _, e in delayed]
    dead = _worker(records, lateness)
    refused = {o for o, _ in dead}
    kept = [r for o, r in enumerate(records) if o not in refused]
    got = _chart(records, dead, lateness, rnd)
    assert got == _chart(kept, [], lateness, None)
