"""The summons and envoy folds on small, hand-made logs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from folds import EnvoysFold, SummonsConfig, SummonsFold, fold_all
from tests.helpers import make_event

T0 = datetime(2022, 10, 4, tzinfo=UTC)
KOSHERBAYEV = {"name": "Yermek Kosherbayev", "sending_country": "KAZ", "host_country": "RUS"}
BORODAVKIN = {"name": "Alexei Borodavkin", "sending_country": "RUS", "host_country": "KAZ"}


def _act(i: int, day: float, actor: str, envoy: dict[str, str], action: str, cameo: str):
    target = envoy["sending_country"] if actor == envoy["host_country"] else envoy["host_country"]
    return make_event(
        event_id=f"s{i}",
        occurred_at=(T0 + timedelta(days=day)).isoformat(),
        actor={"country": actor, "kind": "foreign_ministry"},
        target={"country": target, "kind": "envoy", "name": envoy["name"]},
        action=action,
        cameo=cameo,
        envoy=envoy,
    )


def _summon(i: int, day: float, actor: str, envoy: dict[str, str]):
    return _act(i, day, actor, envoy, "summon_envoy", "110")


def test_a_tit_for_tat_summons_is_one_reciprocal_alert_not_three() -> None:
    events = [_summon(1, 0, "RUS", KOSHERBAYEV), _summon(2, 1, "KAZ", BORODAVKIN)]
    value, alerts = fold_all(SummonsFold(), "KAZ:RUS", events)
    assert [a.rule for a in alerts] == ["summons.opened", "summons.reciprocal"]
    assert set(alerts[1].evidence) == {"s1", "s2"} and alerts[1].figures["days_apart"] == 1
    assert alerts[1].detail.startswith(
        "RUS summoned KAZ's envoy on 2022-10-04; KAZ summoned RUS's envoy on 2022-10-05, "
        "1 day later."
    )
    assert value is not None and len(value["state"]["open"]) == 2


def test_a_late_answer_is_no_tit_for_tat_and_several_open_cases_are_told_once() -> None:
    cfg = SummonsConfig(reciprocal_window_days=14, several_open=2, expiry_days=90)
    events = [
        _summon(1, 0, "RUS", KOSHERBAYEV),
        _summon(2, 30, "KAZ", BORODAVKIN),  # outside the window: not reciprocal
        _summon(3, 31, "RUS", KOSHERBAYEV),
    ]
    _, alerts = fold_all(SummonsFold(cfg), "KAZ:RUS", events)
    assert [a.rule for a in alerts] == [
        "summons.opened",
        "summons.opened",
        "summons.several_open",
        "summons.reciprocal",  # s3 answers s2 within the window
    ]
    assert alerts[2].figures["open"] == 2


def test_cases_close_on_the_outcome_sought_or_lapse() -> None:
    recalled = _act(2, 5, "KAZ", KOSHERBAYEV, "envoy_recalled", "161")
    value, alerts = fold_all(
        SummonsFold(), "KAZ:RUS", [_summon(1, 0, "RUS", KOSHERBAYEV), recalled]
    )
    assert alerts[-1].rule == "summons.closed" and alerts[-1].figures["outcome"] == "recalled"
    assert value is not None and value["state"]["open"] == []
    late = _act(3, 120, "KAZ", BORODAVKIN, "statement", "010")
    value, _ = fold_all(SummonsFold(), "KAZ:RUS", [_summon(1, 0, "RUS", KOSHERBAYEV), late])
    assert value is not None
    assert value["state"]["open"] == [] and value["state"]["closed"] == {"lapsed": 1}
    assert [c["case_id"] for c in value["state"]["lapsed"]] == ["s1"]


def test_an_impossible_envoy_move_is_flagged_and_the_log_still_wins() -> None:
    events = [
        _act(1, 0, "KAZ", KOSHERBAYEV, "envoy_recalled", "161"),
        _summon(2, 3, "RUS", KOSHERBAYEV),  # a recalled envoy cannot be summoned
    ]
    value, alerts = fold_all(EnvoysFold(), "KAZ:RUS", events)
    assert [a.rule for a in alerts] == [
        "envoys.status_changed",
        "envoys.impossible_transition",
        "envoys.status_changed",
    ]
    assert alerts[1].figures == {"from": "recalled", "to": "summoned"}
    assert value is not None and value["state"]["envoys"]["KAZ>RUS"]["status"] == "summoned"


def test_redelivered_events_change_nothing() -> None:
    events = [_summon(1, 0, "RUS", KOSHERBAYEV), _summon(2, 1, "KAZ", BORODAVKIN)]
    once = fold_all(SummonsFold(), "KAZ:RUS", events)
    twice = fold_all(SummonsFold(), "KAZ:RUS", events + events[::-1])
    assert once == twice


def test_an_envoys_history_keeps_the_latest_changes_only() -> None:
    from folds.envoys import HISTORY_KEPT

    events = [
        _act(
            i,
            i,
            "RUS",
            KOSHERBAYEV,
            *(("envoy_departed", "010") if i % 2 else ("summon_envoy", "110")),
        )
        for i in range(2 * HISTORY_KEPT)
    ]
    value, _ = fold_all(EnvoysFold(), "KAZ:RUS", events)
    assert value is not None
    history = value["state"]["envoys"]["KAZ>RUS"]["history"]
    assert history == [f"s{i}" for i in range(HISTORY_KEPT, 2 * HISTORY_KEPT)]


def test_a_second_summons_of_a_summoned_envoy_is_told_as_such_not_as_a_change() -> None:
    events = [_summon(1, 0, "RUS", KOSHERBAYEV), _summon(2, 4, "RUS", KOSHERBAYEV)]
    value, alerts = fold_all(EnvoysFold(), "KAZ:RUS", events)
    assert [a.rule for a in alerts] == ["envoys.status_changed", "envoys.status_changed"]
    first, again = alerts
    assert first.title == "Yermek Kosherbayev in RUS: accredited → summoned"
    assert again.title == "Yermek Kosherbayev in RUS: summoned again (summoned since 2022-10-04)"
    assert again.figures["summoned_since"] == "2022-10-04"
    assert "→" not in again.title
    assert value is not None and value["state"]["envoys"]["KAZ>RUS"]["since_when"] == "2022-10-08"


def test_titles_name_statuses_in_words_and_figures_keep_the_codes() -> None:
    events = [
        _summon(1, 0, "RUS", KOSHERBAYEV),
        _act(2, 3, "RUS", KOSHERBAYEV, "envoy_replacement_requested", "161"),
    ]
    _, alerts = fold_all(EnvoysFold(), "KAZ:RUS", events)
    changed = alerts[-1]
    assert changed.title == "Yermek Kosherbayev in RUS: summoned → replacement requested"
    assert changed.figures["to"] == "replacement_requested"
    assert not any("_" in a.title for a in alerts)


def test_a_summons_closed_says_its_outcome_once() -> None:
    closed = _act(2, 3, "RUS", KOSHERBAYEV, "summons_closed", "010")
    recalled = _act(4, 9, "KAZ", KOSHERBAYEV, "envoy_recalled", "161")
    events = [_summon(1, 0, "RUS", KOSHERBAYEV), closed, _summon(3, 5, "RUS", KOSHERBAYEV)]
    _, alerts = fold_all(SummonsFold(), "KAZ:RUS", [*events, recalled])
    titles = [a.title for a in alerts if a.rule == "summons.closed"]
    assert titles == [
        "Summons of KAZ's envoy by RUS closed",
        "Summons of KAZ's envoy by RUS closed: recalled",
    ]
