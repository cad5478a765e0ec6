"""One aggregate registry: a fourth aggregate gets its table, topics and view from it."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from folds.base import NoTimers, StateModel, event_alert
from folds.dyadlog import DyadLog, FoldFailed
from folds.offline import fold_offline
from folds.registry import AGGREGATES, Aggregate, build_folds
from infra.settings import Settings
from infra.topics import Topics
from query.readmodel import ReadModel
from query.web import build_web_app
from replay.loader import bundled_corpus, load_paths
from schemas.alerts import Alert, Severity
from schemas.events import DiplomaticEvent
from streams.app import create_app
from tests.helpers import timeline_values

CORPUS = [item.event for item in load_paths([bundled_corpus()]).events]


class CountState(StateModel):
    dyad: str
    events: int = 0


class CountFold(NoTimers):
    """A fourth aggregate: counts a dyad's events, raises ``count.tenth`` at ten."""

    name = "count"
    state_type = CountState

    def initial(self, key: str) -> CountState:
        return CountState(dyad=key)

    def apply(self, state: CountState, event: DiplomaticEvent) -> tuple[CountState, list[Alert]]:
        new = CountState(dyad=state.dyad, events=state.events + 1)
        alerts = []
        if new.events == 10:
            alerts.append(
                event_alert(
                    "count.tenth",
                    Severity.INFO,
                    state.dyad,
                    event,
                    title="ten",
                    detail="",
                    figures={},
                )
            )
        return new, alerts


def count_fold(settings: Any) -> CountFold:
    return CountFold()


WITH_COUNT = (*AGGREGATES, Aggregate("count", CountState, count_fold))


def test_a_fourth_aggregate_gets_its_alert_topic_and_changelog() -> None:
    topics = Topics.from_settings(Settings(), WITH_COUNT)
    assert topics.alerts("count") == "dipwatch.alerts.count"
    assert "dipwatch.alerts.count" in {s.name for s in topics.specs()}
    # No changelog of its own: its state rides in each dyad log's head.
    (timeline,) = topics.changelog_specs("dipwatch-worker")
    assert timeline.name == "dipwatch-worker-timeline-state-changelog"
    assert "count" in timeline.value
    with pytest.raises(ValueError, match="no alert topic"):
        Topics.from_settings(Settings()).alerts("count")


def test_a_fourth_aggregate_gets_its_state_in_the_worker() -> None:
    app = create_app(Settings(), "127.0.0.1:9", aggregates=WITH_COUNT)
    assert {t.name for t in app.tables.values()} == {"timeline-state"}
    log = DyadLog(build_folds(Settings(), WITH_COUNT), "KAZ:RUS", timedelta(days=30))
    for event in [e for e in CORPUS if e.dyad == "KAZ:RUS"][:3]:
        log.add(event)
    assert log.dump()["head"]["count"] == {"dyad": "KAZ:RUS", "events": 3}


def test_a_fourth_aggregate_folds_and_raises_on_its_own_topic_family() -> None:
    state, alerts = fold_offline(build_folds(Settings(), WITH_COUNT), CORPUS)
    assert sum(v["state"]["events"] for v in state["count"].values()) == len(CORPUS)
    assert {a.aggregate for a in alerts} == {"tension", "summons", "envoys", "count"}


def test_a_fold_raising_another_aggregates_rule_is_refused() -> None:
    class Stray(CountFold):
        name = "stray"

    folds = (Stray(),)
    events = [e for e in CORPUS if e.dyad == "KAZ:RUS"][:10]
    with pytest.raises(FoldFailed, match=r"raised alert rule 'count\.tenth'"):
        log = DyadLog(folds, "KAZ:RUS", timedelta(days=30))
        for event in events:
            log.add(event)


def test_a_fold_built_under_another_name_is_refused_at_start() -> None:
    wrong = (Aggregate("tally", CountState, lambda _: CountFold()),)
    with pytest.raises(TypeError, match="built a fold named 'count'"):
        build_folds(Settings(), wrong)


def test_a_fourth_aggregate_gets_its_read_model_and_view() -> None:
    settings = Settings()
    folds = build_folds(settings, WITH_COUNT)
    topics = Topics.from_settings(settings, WITH_COUNT)
    model = ReadModel(folds, topics, settings.app_id)
    state, _ = fold_offline(folds, CORPUS)
    for dyad, value in timeline_values(state).items():
        model.on_changelog(json.dumps(dyad).encode(), json.dumps(value).encode())

    async def get() -> tuple[int, Any]:
        app = build_web_app(settings, model, producer=None, topic=topics.events)
        async with TestClient(TestServer(app)) as client:
            response = await client.get("/api/state/count", params={"dyad": "KAZ:RUS"})
            return response.status, await response.json()

    status, body = asyncio.run(get())
    assert status == 200
    assert body["count"] == [{"dyad": "KAZ:RUS", "state": state["count"]["KAZ:RUS"]["state"]}]


def test_domain_settings_reach_the_folds() -> None:
    settings = Settings(
        tension_thresholds=(1.0, 2.0, 3.0),
        tension_hysteresis=0.5,
        armed_conflict_lapse_days=10.0,
        summons_expiry_days=7.0,
        several_open=3,
    )
    tension, summons, _ = build_folds(settings)
    assert tension.config.thresholds == (1.0, 2.0, 3.0)  # type: ignore[attr-defined]
    assert tension.config.hysteresis == 0.5  # type: ignore[attr-defined]
    assert tension.config.armed_conflict_lapse_days == 10.0  # type: ignore[attr-defined]
    assert (summons.config.expiry_days, summons.config.several_open) == (7.0, 3)  # type: ignore[attr-defined]
