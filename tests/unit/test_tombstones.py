"""A retraction or correction whose act never comes within the lateness retracted
nothing: it is set aside (dead-lettered, as folded) when its tombstone expires, offline
and through the worker's record processing, restarts included (folds/tombstones.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from folds.change import TooLate
from folds.dyadlog import DyadLog
from folds.offline import fold_offline
from folds.parallel import fold_parallel
from folds.registry import build_folds
from folds.tombstones import SETTLED_BYTES, TOMBSTONE_BYTES, Tombstones
from infra.settings import Settings
from schemas.events import DiplomaticEvent
from streams.processing import Verdict
from tests.helpers import make_event
from tests.unit.test_event_time import through_the_worker
from tests.unit.test_processing import Tables, _record

T0 = datetime(2023, 1, 2, tzinfo=UTC)
LATENESS = 30.0
FOLDS = build_folds(Settings())


def _event(event_id: str, day: float, actor: str = "RUS", **fields: Any) -> DiplomaticEvent:
    """``actor`` criticising Kazakhstan on ``day`` (``fields`` replace any field)."""
    return make_event(
        **{
            "event_id": event_id,
            "occurred_at": (T0 + timedelta(days=day)).isoformat(),
            "actor": {"country": actor, "kind": "government"},
            "target": {"country": "KAZ", "kind": "state"},
            "action": "criticize",
            "cameo": "111",
            "envoy": None,
            **fields,
        }
    )


def _threat(event_id: str, day: float, **fields: Any) -> DiplomaticEvent:
    return _event(event_id, day, action="threaten", cameo="138", **fields)


def _sorted(events: list[DiplomaticEvent]) -> list[DiplomaticEvent]:
    return sorted(events, key=lambda e: (e.occurred_at, e.event_id))


def _refused(log: list[DiplomaticEvent]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    refused: list[tuple[str, str]] = []
    until = max(e.occurred_at for e in log)
    state, _ = fold_offline(FOLDS, log, lateness_days=LATENESS, until=until, refused=refused)
    return state, refused


def _worker(log: list[DiplomaticEvent], batch_size: int) -> list[str]:
    set_aside: list[str] = []
    until = max(e.occurred_at for e in log)
    through_the_worker(log, until, LATENESS, batch_size, set_aside)
    return set_aside


def test_a_retraction_filed_under_another_pair_is_set_aside_once_the_lateness_has_passed() -> None:
    act = _threat("act", 10)  # KAZ:RUS
    wrong = _event("wrong", 10, "UKR", action="statement", cameo="010", retracts="act")
    ukraine = [_event(f"u{d}", d, "UKR") for d in range(0, 121, 2)]  # KAZ:UKR moves on
    early = _sorted([act, wrong, *ukraine[:31]])  # to day 60: the act may still come
    state, refused = _refused(early)
    assert refused == []
    state, refused = _refused(_sorted([act, wrong, *ukraine]))
    assert [i for i, _ in refused] == ["wrong"]
    reason = refused[0][1]
    assert reason.startswith("'wrong' retracts 'act', which KAZ:UKR did not hold when it came")
    assert "nothing was retracted" in reason and "of another pair" in reason
    assert state["tension"]["KAZ:RUS"]["state"]["events"] == 1  # the act stands
    shared = fold_parallel(FOLDS, _sorted([act, wrong, *ukraine]), jobs=2, lateness_days=LATENESS)
    assert shared.refused == [reason]  # the same, folded in two processes
    # The worker: restored from its stored values between batches (even sizes) or not.
    for batch_size in (1, 4, 5):
        assert _worker(_sorted([act, wrong, *ukraine]), batch_size) == ["wrong"]
        assert _worker(early, batch_size) == []


def test_a_record_that_takes_back_an_act_after_it_settled_is_refused_as_too_late() -> None:
    """A correction (or retraction) dated after its act that comes once the act has
    settled into the base cannot take it out: it is refused at once as too late, naming
    the settled act, and the act stands once (a correction that went ahead would count
    its new act beside the old one). Had it come in time, it replaces the act. The same
    in two processes and through the worker's record processing, restored from its
    stored values between batches or not."""
    act = _threat("act", 0)
    fix = _threat("fix", 20, corrects="act")
    undo = _event("undo", 20, action="statement", cameo="010", retracts="act")
    pair = [_event(f"n{d}", d) for d in range(2, 121, 2)]
    in_time = _sorted([act, fix, *pair])
    state, refused = _refused(in_time)
    assert refused == []
    assert state["tension"]["KAZ:RUS"]["state"]["events"] == 61
    for record, field in ((fix, "corrects"), (undo, "retracts")):
        late = [e for e in _sorted([act, *pair]) if e.occurred_at <= T0 + timedelta(days=44)]
        late += [record, *(e for e in pair if e not in late)]
        state, refused = _refused(late)
        assert state["tension"]["KAZ:RUS"]["state"]["events"] == 61  # the act, once
        assert [i for i, _ in refused] == [record.event_id]
        assert refused[0][1].startswith(
            f"{'correction' if record is fix else 'retraction'} {record.event_id!r} of "
            f"2023-01-22 {field} 'act', an act of KAZ:RUS of 2023-01-02 that has settled"
        )
        assert "is not applied" in refused[0][1]
        shared = fold_parallel(FOLDS, late, jobs=2, lateness_days=LATENESS)
        assert shared.refused == [refused[0][1]]
        for batch_size in (3, 6):  # (even sizes restart from the stored values)
            kinds: dict[str, str] = {}
            values, _ = through_the_worker(
                late, late[-1].occurred_at, LATENESS, batch_size, kinds=kinds
            )
            assert kinds == {record.event_id: "too_late"}
            assert values["tension"]["KAZ:RUS"]["state"]["events"] == 61


def test_the_settled_acts_a_pair_remembers_are_bounded_and_stored() -> None:
    """The ids of settled acts are kept by day while a placeable record may name them
    (the base less the lateness), at most SETTLED_BYTES of them (the oldest days first),
    and a value stores and restores them (one written before they were kept has none)."""
    tombs = Tombstones()
    days, per_day = 40, 160  # ids of 40 characters: ~20 days fit
    tombs.settle(
        _event(f"gdelt-{d:03d}-{i:05d}-0000-0000-00000000", d)
        for d in range(days)
        for i in range(per_day)
    )
    dumped = orjson.loads(orjson.dumps(tombs.dump()))
    assert SETTLED_BYTES * 0.9 < len(orjson.dumps(dumped["settled"])) <= SETTLED_BYTES
    assert abs(tombs.settled_size - len(orjson.dumps(dumped["settled"]))) < 0.01 * SETTLED_BYTES
    kept = sorted(tombs.settled)
    assert kept == [(T0 + timedelta(days=d)).date() for d in range(days - len(kept), days)]
    newest, oldest = "gdelt-039-00000-0000-0000-00000000", "gdelt-000-00000-0000-0000-00000000"
    with pytest.raises(
        TooLate, match=f"'{newest}', an act of KAZ:RUS of 2023-02-10 that has settled"
    ):
        tombs.taken(_threat("fix", 39, corrects=newest), newest, "KAZ:RUS", ())
    assert tombs.taken(_threat("fix", 39, corrects=oldest), oldest, "KAZ:RUS", ()) == ""
    assert tombs.taken(_threat("fix", 39, corrects=newest), newest, "KAZ:RUS", (newest,)) == ""
    restored = Tombstones.load(dumped)
    assert restored.settled == tombs.settled and restored.settled_size == tombs.settled_size
    restored.dump()
    restored.settle([_event("one-more", days - 1)])  # a day dumped before grows
    again = Tombstones.load(orjson.loads(orjson.dumps(restored.dump())))
    assert "one-more" in again.settled[(T0 + timedelta(days=days - 1)).date()]
    del dumped["settled"]
    assert Tombstones.load(dumped).settled == {}
    tombs.sweep(T0 + timedelta(days=days + LATENESS - 5), timedelta(days=LATENESS), "KAZ:RUS")
    assert sorted(tombs.settled) == [(T0 + timedelta(days=d)).date() for d in range(days - 5, days)]
    assert tombs.settled_size == sum(len(i) + 3 for ids in tombs.settled.values() for i in ids)


def test_a_waiting_tombstone_is_stored_as_a_reference_and_old_values_load() -> None:
    log = DyadLog(FOLDS, "KAZ:RUS", timedelta(days=LATENESS))
    log.add(_threat("act", 0))
    log.add(_event("r", 0, action="statement", cameo="010", retracts="gone"))
    value = log.dump()
    assert value["waiting"] == {  # what names the record, not the record
        "gone": {
            "event_id": "r",
            "dyad": "KAZ:RUS",
            "retracts": "gone",
            "occurred_at": T0.isoformat(),
            "offset": None,
        }
    }
    assert DyadLog.load(FOLDS, value, timedelta(days=LATENESS)).tombs.waiting == log.tombs.waiting
    del value["waiting"]
    restored = DyadLog.load(FOLDS, value, timedelta(days=LATENESS))
    assert "gone" in restored.tombs and restored.tombs.waiting == {}


def test_a_pair_crowded_with_tombstones_refuses_one_more_and_its_value_stays_bounded() -> None:
    """A flood of retractions of acts that never come (ids of ~40 characters, as GDELT's
    or UUIDs), through the worker's record processing: once the pair's tombstones would
    pass what its value may hold, the next is refused, changing nothing, and dead-lettered
    (kind ``crowded``); when the pair has moved on they expire, and there is room again."""
    tables = Tables()
    batch = tables.batch()
    outcomes = []
    for i in range(2_000):
        name = f"gdelt-{i:06d}-0000-4000-8000-000000000000"
        record = _event(f"r-{name}", 5, action="statement", cameo="010", retracts=name)
        outcomes.append(batch.process(*_record(record), 0, i))
    kinds = [o.kind for o in outcomes]
    first = kinds.index("crowded")
    assert kinds == [""] * first + ["crowded"] * (2_000 - first)  # all refused from there
    assert outcomes[first].verdict is Verdict.DEAD_LETTER
    assert outcomes[first].reason.startswith("KAZ:RUS holds ")
    assert "is not applied" in outcomes[first].reason
    log = tables.partitions(0).logs["KAZ:RUS"]
    value = orjson.dumps(log.dump())
    assert TOMBSTONE_BYTES * 0.9 < len(value) < TOMBSTONE_BYTES + 32 * 1024
    restored = DyadLog.load(FOLDS, orjson.loads(value), timedelta(days=LATENESS))
    assert restored.tombs.size == log.tombs.size  # the count kept as it changed
    assert abs(log.tombs.size - len(orjson.dumps(log.tombs.dump()))) < 0.05 * log.tombs.size
    set_aside = []
    for week in range(1, 16):
        weekly = _event(f"w{week}", 5 + 7 * week)
        set_aside += batch.process(*_record(weekly), 0, 2_000 + week).set_aside
    assert len(set_aside) == first and log.tombs.size == 0
    again = _event("r-again", 5 + 7 * 15, action="statement", cameo="010", retracts="x")
    assert batch.process(*_record(again), 0, 3_000).verdict is Verdict.FOLDED
