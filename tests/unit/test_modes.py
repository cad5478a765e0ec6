"""Each mode of an act is treated explicitly: an announced summons summons no one."""

from __future__ import annotations

from typing import Any

import pytest

from folds.offline import fold_offline
from folds.registry import build_folds
from folds.tension import MODE_WEIGHTS, TensionConfig
from infra.settings import Settings
from schemas.codec import parse_event
from schemas.errors import InvalidRecord
from schemas.events import DiplomaticEvent
from tests.helpers import event_dict, threat

FOLDS = build_folds(Settings())


def _summons(event_id: str, summoner: str, envoy_of: str, day: str, **kw: Any) -> DiplomaticEvent:
    return parse_event(
        event_dict(
            event_id=event_id,
            occurred_at=f"2022-10-{day}T00:00:00Z",
            actor={"country": summoner, "kind": "foreign_ministry"},
            target={"country": envoy_of, "kind": "envoy"},
            envoy={"sending_country": envoy_of, "host_country": summoner},
            **kw,
        )
    )


def test_an_announced_reciprocal_summons_is_told_as_announced_and_summons_no_one() -> None:
    made = _summons("ru-summons", "RUS", "KAZ", "04")
    announced = _summons("kz-will-summon", "KAZ", "RUS", "05", mode="announced")
    state, alerts = fold_offline(FOLDS, [made, announced])
    rules = [a.rule for a in alerts if a.aggregate == "summons"]
    assert rules == ["summons.opened", "summons.reciprocal_announced"]
    told = alerts[-1] if alerts[-1].rule.startswith("summons") else None
    assert told is not None and "announced" in told.title and "not reported as made" in told.detail
    assert [c["case_id"] for c in state["summons"]["KAZ:RUS"]["state"]["open"]] == ["ru-summons"]
    board = state["envoys"]["KAZ:RUS"]["state"]["envoys"]
    assert board["KAZ>RUS"]["status"] == "summoned"
    assert "RUS>KAZ" not in board, "an announced summons puts no envoy in 'summoned'"


def test_an_announced_summons_alone_is_an_info_alert_and_no_case() -> None:
    state, alerts = fold_offline(FOLDS, [_summons("s", "KAZ", "RUS", "05", mode="announced")])
    assert [a.rule for a in alerts] == ["summons.announced"]
    assert state["summons"]["KAZ:RUS"]["state"]["open"] == []


@pytest.mark.parametrize("mode", ["announced", "threatened", "demanded", "denied"])
def test_an_envoy_moves_only_on_an_act_that_took_place(mode: str) -> None:
    recall = parse_event(
        event_dict(
            event_id="recall",
            action="envoy_recalled",
            cameo="161",
            mode=mode,
            actor={"country": "KAZ", "kind": "government"},
            target={"country": "RUS", "kind": "envoy"},
            envoy={"sending_country": "KAZ", "host_country": "RUS"},
        )
    )
    state, alerts = fold_offline(FOLDS, [recall])
    assert state["envoys"]["KAZ:RUS"]["state"]["envoys"] == {}
    assert not [a for a in alerts if a.aggregate == "envoys"]


def test_tension_weighs_each_mode_as_documented() -> None:
    config = TensionConfig()
    done = threat("t")
    for mode, weight in MODE_WEIGHTS.items():
        event = done.model_copy(update={"mode": mode})
        assert config.weight(event) == pytest.approx(done.goldstein * weight)
    assert MODE_WEIGHTS["denied"] == 0.0 and MODE_WEIGHTS["done"] == 1.0


def test_a_threatened_strike_puts_no_pair_in_armed_conflict() -> None:
    strike = dict(
        action="military_action",
        cameo="190",
        envoy=None,
        actor={"country": "RUS", "kind": "military"},
        target={"country": "KAZ", "kind": "state"},
    )
    threatened = parse_event(event_dict(event_id="s1", mode="threatened", **strike))
    done = parse_event(event_dict(event_id="s2", **strike))
    state, _ = fold_offline(FOLDS, [threatened])
    assert state["tension"]["KAZ:RUS"]["state"]["last_force_at"] is None
    state, _ = fold_offline(FOLDS, [done])
    assert state["tension"]["KAZ:RUS"]["state"]["last_force_at"] is not None


def test_an_alert_from_a_window_dated_act_prints_the_window_not_a_day() -> None:
    recall = parse_event(
        event_dict(
            event_id="later-recall",
            action="envoy_recalled",
            cameo="161",
            occurred_at="2022-10-05T00:00:00Z",
            date_precision="window",
            occurred_window={
                "earliest": "2022-10-05T00:00:00Z",
                "latest": "2025-08-10T00:00:00Z",
            },
            actor={"country": "UKR", "kind": "government"},
            target={"country": "KAZ", "kind": "envoy"},
            envoy={"sending_country": "UKR", "host_country": "KAZ"},
        )
    )
    _, alerts = fold_offline(FOLDS, [recall])
    assert alerts and {a.when for a in alerts} == {"2022-10-05…2025-08-10"}
    assert all(a.window is not None for a in alerts)


def test_an_act_with_any_cameo_code_and_no_action_folds_into_tension() -> None:
    assault = parse_event(
        event_dict(
            event_id="gdelt-1",
            action=None,
            cameo="1822",
            envoy=None,
            actor={"country": "RUS", "kind": "military"},
            target={"country": "UKR", "kind": "state"},
        )
    )
    state, alerts = fold_offline(FOLDS, [assault])
    assert state["tension"]["RUS:UKR"]["state"]["events"] == 1
    assert [a.rule for a in alerts] == ["tension.level_up"]  # -9.0: elevated
    with pytest.raises(InvalidRecord, match="unknown CAMEO code"):
        parse_event(event_dict(event_id="x", action=None, cameo="9999", envoy=None))


def test_a_window_needs_its_precision_and_holds_its_instant() -> None:
    with pytest.raises(InvalidRecord, match="needs occurred_window"):
        parse_event(event_dict(date_precision="month"))
    with pytest.raises(InvalidRecord, match="within occurred_window"):
        parse_event(
            event_dict(
                date_precision="window",
                occurred_window={
                    "earliest": "2022-11-01T00:00:00Z",
                    "latest": "2022-12-01T00:00:00Z",
                },
            )
        )
