"""Version-1 records still replay: the v1 -> v2 upcaster, on its own and on the old corpus."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from folds.offline import fold_offline
from folds.registry import build_folds
from infra.settings import Settings
from replay.loader import bundled_corpus, load_paths
from schemas.alerts import Alert
from schemas.codec import decode_alert, decode_event
from schemas.events import Mode, upcast_v1
from tests.helpers import event_dict, standing

OLD_CORPUS = Path(__file__).resolve().parents[1] / "data" / "corpus-v1.jsonl"


def _v1(**overrides: object) -> dict[str, object]:
    data = {**event_dict(**overrides), "schema_version": 1}
    data.pop("mode", None)
    return data


def test_a_day_dated_v1_record_becomes_a_done_act_with_no_window() -> None:
    out = upcast_v1(_v1())
    assert out["schema_version"] == 2 and out["mode"] == "done"
    assert "occurred_window" not in out


def test_a_month_dated_v1_record_gets_its_calendar_month_and_keeps_its_instant() -> None:
    out = upcast_v1(_v1(occurred_at="2022-08-21T00:00:00Z", date_precision="month"))
    assert out["occurred_at"] == "2022-08-21T00:00:00Z"
    assert out["occurred_window"]["earliest"].startswith("2022-08-01T00:00:00")
    assert out["occurred_window"]["latest"].startswith("2022-08-31T23:59:59")


def test_a_year_dated_v1_record_gets_its_calendar_year() -> None:
    event = decode_event(
        json.dumps(_v1(occurred_at="2022-10-06T00:00:00Z", date_precision="year")).encode()
    )
    assert event.when == "2022" and event.mode is Mode.DONE


def test_upcasting_does_not_touch_its_input() -> None:
    data = _v1(date_precision="month")
    frozen = json.dumps(data, sort_keys=True)
    upcast_v1(data)
    assert json.dumps(data, sort_keys=True) == frozen


def test_the_old_corpus_file_replays_through_the_upcaster() -> None:
    lines = OLD_CORPUS.read_text(encoding="utf-8").splitlines()
    assert all(json.loads(line)["schema_version"] == 1 for line in lines)
    report = load_paths([OLD_CORPUS], now=datetime(2026, 11, 25, tzinfo=UTC))
    assert report.problems == [] and len(report.events) == len(lines) == 48
    old_by_id = {json.loads(line)["event_id"]: json.loads(line) for line in lines}
    for item in report.events:
        event = item.event
        old = old_by_id[event.event_id]
        assert event.occurred_at.isoformat().startswith(old["occurred_at"][:19])
        assert event.schema_version == 2 and event.mode is Mode.DONE
        if old["date_precision"] == "day":
            assert event.occurred_window is None and event.when == old["occurred_at"][:10]
        else:
            assert event.occurred_window is not None
            assert len(event.when) == (7 if old["date_precision"] == "month" else 4)
    # v1's instants are kept, so the folds see what they saw: the same alerts, each
    # now dated no more precisely than its sources.
    _, alerts = fold_offline(build_folds(Settings()), [i.event for i in report.events])
    # 21 as in v1, and 7 more that only timers raise: falls through the bands that no
    # later event of the dyad revealed, and the lapse of Kosherbayev's summons.
    assert len(alerts) == 28
    month_dated = {e.event_id for e in (i.event for i in report.events) if len(e.when) == 7}
    for alert in alerts:
        if alert.rule != "tension.level_down" and set(alert.evidence) <= month_dated:
            assert len(alert.when) == 7, alert


def test_a_v1_alert_reads_as_a_v2_alert_dated_to_its_day() -> None:
    v1 = {
        "alert_id": "a",
        "schema_version": 1,
        "rule": "summons.opened",
        "severity": "warning",
        "dyad": "KAZ:RUS",
        "at": "2022-10-04T00:00:00+00:00",
        "raised_at": "2026-11-21T00:00:00+00:00",
        "title": "t",
        "detail": "d",
        "evidence": ["e"],
    }
    alert = decode_alert(json.dumps(v1))
    assert isinstance(alert, Alert) and alert.when == "2022-10-04" and alert.schema_version == 3


def test_the_corpus_review_replayed_as_corrections_gives_the_reviewed_corpus() -> None:
    """A log that holds the v1 corpus, plus the review published as correction records
    (replay/corrections/), folds to the reviewed corpus: the same scores, cases, envoys
    and alerts (the corrections' ids carry the suffix ``.r1``)."""
    now = datetime(2026, 11, 25, tzinfo=UTC)
    review = Path(__file__).resolve().parents[2] / "replay/corrections/2026-11-corpus-review.jsonl"
    old = [i.event for i in load_paths([OLD_CORPUS], now=now).events]
    fixes = [i.event for i in load_paths([review], now=now).events]
    reviewed = [i.event for i in load_paths([bundled_corpus()], now=now).events]
    assert sum(1 for e in fixes if e.corrects) == len(old) == 48
    folds = build_folds(Settings())
    until = max(e.occurred_at for e in old + reviewed)
    wide = 36_500.0  # the review comes years after the acts
    state, alerts = fold_offline(folds, old + fixes, lateness_days=wide, until=until)
    want_state, want = fold_offline(folds, reviewed, lateness_days=wide, until=until)
    assert json.loads(json.dumps(state).replace(".r1", "")) == want_state

    def told(alerts):  # type: ignore[no-untyped-def]
        return sorted(
            (a.rule, a.dyad, a.when, a.severity.value, a.title, a.detail.replace(".r1", ""))
            for a in standing(alerts).values()
        )

    assert told(alerts) == told(want)
    # What the review withdrew: alerts of v1 that the articles do not support.
    withdrawn = {a.withdraws for a in alerts if a.withdraws}
    assert withdrawn and all(w in {a.alert_id for a in alerts} for w in withdrawn)
