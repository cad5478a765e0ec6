"""A dyad log's stored value reuses the JSON of what did not change, and is always what
a fresh dump of the same log gives (no stale JSON, whatever the log went through)."""

from __future__ import annotations

import random
from datetime import timedelta

import orjson

from folds.dumps import Dumps
from folds.engine import Engine
from folds.registry import build_folds
from infra.settings import Settings
from tests.helpers import retraction
from tests.unit.test_event_time import T0, _event


def test_the_json_of_an_object_is_made_once_and_forgotten_when_dropped() -> None:
    dumps = Dumps()
    a, b = _event(1, 0, 1.0, 1, False), _event(2, 0, 2.0, 1, False)
    first = dumps.of(a)
    assert dumps.of(a) is first  # the same object: not dumped again
    assert dumps.of(b) == b.model_dump(mode="json") and len(dumps) == 2
    equal = a.model_copy()  # equal, but another object: its own JSON
    assert equal == a and dumps.of(equal) == first and dumps.of(equal) is not first
    dumps.keep([b])
    assert len(dumps) == 1 and dumps.of(a) is not first  # forgotten: made again


def test_a_stored_value_equals_a_fresh_dump_after_late_events_and_retractions() -> None:
    rnd = random.Random(3)
    events = [
        _event(i, rnd.randrange(3), rnd.uniform(0, 200), rnd.randrange(8), rnd.random() < 0.5)
        for i in range(300)
    ]
    # Mostly in order, some up to 20 days late, some retracted later on.
    events.sort(key=lambda e: e.occurred_at + timedelta(days=rnd.choice((0, 0, 0, 20))))
    engine = Engine(build_folds(Settings()), lateness_days=30)
    retracted = 0
    for i, event in enumerate(events):
        engine.tick(event.occurred_at)
        engine.add(event)
        if i % 25 == 24:  # retract an event still within the lateness
            engine.add(retraction(f"r{i}", event))
            retracted += 1
        log = engine.logs[event.dyad]
        stored, kept = orjson.dumps(log.dump()), log._dumps
        log._dumps = Dumps()  # a fresh dump: every JSON made again
        assert orjson.dumps(log.dump()) == stored, f"after record {i}"
        log._dumps = kept  # the log goes on with what it had made
    assert retracted == 12 and engine.timers.watermark is not None
    assert engine.timers.watermark > T0
