"""A timer that runs from an act the sources date only to a window — a level decaying
through its band, a summons lapsing — fires at its earliest possible moment, and its
alert says the window in which it fell, never a day the sources do not give."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from folds.offline import fold_offline
from folds.registry import build_folds
from infra.settings import Settings
from schemas.alerts import Alert
from schemas.events import DiplomaticEvent
from tests.helpers import make_event, threat

OCT_1, OCT_31 = datetime(2022, 10, 1, tzinfo=UTC), datetime(2022, 10, 31, tzinfo=UTC)
LATER = datetime(2023, 6, 1, tzinfo=UTC)


def _in_october(event: DiplomaticEvent) -> DiplomaticEvent:
    """``event`` as the sources would give it: some day in October 2022."""
    return make_event(
        **{
            **event.model_dump(mode="json", exclude_none=True),
            "occurred_at": OCT_1.isoformat(),
            "date_precision": "month",
            "occurred_window": {"earliest": OCT_1.isoformat(), "latest": OCT_31.isoformat()},
        }
    )


def _alerts(events: list[DiplomaticEvent], rule: str) -> list[Alert]:
    _, alerts = fold_offline(build_folds(Settings()), events, until=LATER)
    return [a for a in alerts if a.rule == rule]


def test_a_fall_from_acts_dated_to_a_month_is_told_as_a_window() -> None:
    dated = [threat(f"t{i}", f"2022-10-{1 + i:02d}T00:00:00Z") for i in range(3)]
    falls = _alerts(dated, "tension.level_down")
    assert falls and all(a.window is None and "…" not in a.when for a in falls)
    # The same threats, known only to have happened in October: each fall comes at
    # the same earliest moment, and may be as late as if they had all come on 31 Oct.
    vague = [_in_october(e) for e in dated]
    latest = [threat(f"t{i}", OCT_31.isoformat()) for i in range(3)]
    for fall, at_end in zip(
        _alerts(vague, "tension.level_down"), _alerts(latest, "tension.level_down"), strict=True
    ):
        assert fall.window is not None and fall.window.earliest == fall.at
        assert fall.window.latest == at_end.at
        assert fall.when == fall.window.label() and "…" in fall.when
        assert fall.detail.startswith(f"Between {fall.at.date()} and {at_end.at.date()}")


def test_a_summons_dated_to_a_month_lapses_within_that_month_moved_by_the_expiry() -> None:
    summons = _in_october(make_event(event_id="s1"))  # RUS summons KAZ's envoy
    expiry = timedelta(days=Settings().summons_expiry_days)
    for rule in ("summons.lapsed", "envoys.status_changed"):
        lapsed = [a for a in _alerts([summons], rule) if a.at > OCT_31]
        assert len(lapsed) == 1, rule
        window = lapsed[0].window
        assert window is not None and (window.earliest, window.latest) == (
            OCT_1 + expiry,
            OCT_31 + expiry,
        )
        assert lapsed[0].when == "2022-12-30…2023-01-29"
    day = _alerts([make_event(event_id="s2", occurred_at="2022-10-04T00:00:00Z")], "summons.lapsed")
    assert day[0].window is None and day[0].when == "2023-01-02"
