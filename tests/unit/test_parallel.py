"""The offline fold shared among processes gives one process's alerts, in its order, its
state and its refusals — late events, retractions and records past the lateness included."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from bench.generate import Shape, generate
from dipwatch.cli import cli
from folds.base import Fold
from folds.offline import fold_offline
from folds.parallel import fold_parallel, owners
from folds.registry import build_folds
from folds.tension import TensionFold
from infra.settings import Settings
from replay.offline import AUTO_JOBS_FROM, jobs_for
from schemas.codec import encode_alert
from schemas.events import DiplomaticEvent
from tests.unit.test_event_time import _arrival, _log, acts


def _serial(folds: list[Fold[Any]], events: list[DiplomaticEvent], **kw: Any) -> Any:
    refused: list[tuple[str, str]] = []
    state, alerts = fold_offline(folds, events, refused=refused, **kw)
    return state, [encode_alert(a) for a in alerts], [r for _, r in refused]


def test_a_synthetic_log_folds_the_same_in_one_two_and_three_processes() -> None:
    events = list(generate(Shape(events=4000, dyads=80, years=3.0, seed=5)))
    folds = build_folds(Settings())
    state, alerts, refused = _serial(folds, events)
    assert len(alerts) > 500  # timers and events of many dyads interleave
    for jobs in (1, 2, 3):
        folded = fold_parallel(folds, events, jobs=jobs)
        assert folded.alerts == alerts  # the same alerts, in the same order
        assert folded.state == state
        assert folded.refused == refused


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(acts, st.lists(st.booleans(), max_size=40), st.randoms(use_true_random=False))
def test_late_retracted_and_refused_records_fold_the_same_shared(
    spec: list[tuple[int, float, int, bool]], retract: list[bool], rnd: random.Random
) -> None:
    events, retractions, _ = _log(spec, retract + [False] * len(spec))
    # Delays up to 40 days against a lateness of 7: some records are placed late, some
    # are refused, depending on every other dyad's records through the watermark.
    arrived = _arrival(events + retractions, 40.0, rnd)
    folds = build_folds(Settings())
    until = max(e.occurred_at for e in events) + timedelta(days=100)
    state, alerts, refused = _serial(folds, arrived, lateness_days=7.0, until=until)
    folded = fold_parallel(folds, arrived, jobs=2, lateness_days=7.0, until=until)
    assert (folded.state, folded.alerts, folded.refused) == (state, alerts, refused)


def test_the_dyads_are_shared_busiest_first_to_the_least_loaded() -> None:
    events = list(generate(Shape(events=3000, dyads=40, seed=2)))
    owner = owners([e.dyad for e in events], 2)
    load = [0, 0]
    for event in events:
        load[owner[event.dyad]] += 1
    assert set(owner) == {e.dyad for e in events}
    assert abs(load[0] - load[1]) <= max(load) * 0.1


class _Broken(TensionFold):
    def advance(self, state: Any, at: datetime) -> Any:
        raise ValueError("a timer that cannot fire")


def test_a_process_that_fails_fails_the_fold_with_its_reason() -> None:
    events = list(generate(Shape(events=500, dyads=10, seed=3)))
    with pytest.raises(ValueError, match="cannot fire"):
        fold_offline([_Broken()], events)
    with pytest.raises(RuntimeError, match=r"process \d of 2 failed:(.|\n)*cannot fire"):
        fold_parallel([_Broken()], events, jobs=2)


def test_jobs_default_to_one_per_core_for_a_large_log_and_one_for_a_small() -> None:
    assert jobs_for(3, 10) == 3
    assert jobs_for(0, AUTO_JOBS_FROM - 1) == 1
    assert 1 <= jobs_for(0, AUTO_JOBS_FROM) <= 4


def test_replay_offline_prints_the_same_in_any_number_of_processes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    outputs = []
    for jobs in ("1", "2"):
        monkeypatch.setenv("DIPWATCH_OFFLINE_JOBS", jobs)
        result = CliRunner().invoke(cli, ["replay", "--offline"])
        assert result.exit_code == 0, result.output
        outputs.append(result.stdout)
    assert outputs[0] == outputs[1] and outputs[0].count("\n") >= 21
