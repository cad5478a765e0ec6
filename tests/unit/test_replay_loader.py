"""The replay tool validates everything first and names file:line for each problem."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from infra.settings import Settings
from replay.loader import bundled_corpus, load_paths, select
from replay.run import ReplayOptions, run_replay
from schemas.codec import parse_event
from schemas.errors import InvalidRecord
from tests.helpers import event_dict


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_bundled_corpus_validates_and_is_sorted_by_event_time() -> None:
    report = load_paths([bundled_corpus()])
    assert report.problems == [] and report.duplicates == 0
    assert len(report.events) >= 40
    times = [item.event.occurred_at for item in report.events]
    assert times == sorted(times)
    raw = (bundled_corpus() / "kaz-rus-ukr-2022-2025.jsonl").read_text().splitlines()
    assert [json.loads(line)["occurred_at"] for line in raw] == sorted(
        json.loads(line)["occurred_at"] for line in raw
    ), "the corpus file itself is sorted by occurred_at"


@pytest.mark.parametrize(
    ("bad_line", "reason"),
    [
        ("{not json", "not JSON"),
        (
            json.dumps(event_dict(event_id="b", actor={"country": "XYZ", "kind": "state"})),
            "actor.country",
        ),
        (json.dumps(event_dict(event_id="b", action="hug")), "action"),
        (json.dumps(event_dict(event_id="b", cameo="0999")), "unknown CAMEO code"),
        (json.dumps(event_dict(event_id="b", sources=[])), "sources"),
        (json.dumps(event_dict(event_id="b", occurred_at="2022-10-04T10:00:00")), "occurred_at"),
        (
            json.dumps(event_dict(event_id="a", summary="Different content")),
            "reused with different content",
        ),
    ],
)
def test_bad_input_is_refused_with_its_line_number(
    tmp_path: Path, bad_line: str, reason: str
) -> None:
    good = json.dumps(event_dict(event_id="a"))
    path = _write(tmp_path / "events.jsonl", [good, "", good, bad_line])
    report = load_paths([tmp_path])
    assert [str(p).split(": ", 1)[0] for p in report.problems] == [f"{path}:4"]
    assert reason in report.problems[0].reason
    assert report.duplicates == 1 and len(report.events) == 1


def test_replay_refuses_invalid_input_and_publishes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write(tmp_path / "bad.jsonl", [json.dumps(event_dict()), "nope"])
    # No broker configured: had it tried to publish, it would fail differently.
    code = run_replay(Settings(), ReplayOptions(paths=(tmp_path,)))
    err = capsys.readouterr().err
    assert code == 1
    assert f"{tmp_path / 'bad.jsonl'}:2: not JSON" in err and "nothing published" in err


def test_select_filters_by_time_and_dyad() -> None:
    from datetime import UTC, datetime

    events = load_paths([bundled_corpus()]).events
    chosen = select(
        events,
        since=datetime(2022, 10, 1, tzinfo=UTC),
        until=datetime(2022, 11, 1, tzinfo=UTC),
        dyads=["KAZ:RUS"],
    )
    assert chosen and all(
        i.event.dyad == "KAZ:RUS" and i.event.occurred_at.month == 10 for i in chosen
    )


def test_replay_refuses_events_dated_after_its_clock(tmp_path: Path) -> None:
    future = event_dict(
        event_id="later",
        occurred_at="2031-01-01T00:00:00Z",
        recorded_at="2031-01-02T00:00:00Z",
    )
    path = _write(tmp_path / "f.jsonl", [json.dumps(event_dict()), json.dumps(future)])
    now = datetime(2026, 11, 25, tzinfo=UTC)
    report = load_paths([path], now=now)
    assert [str(p) for p in report.problems] == [
        f"{path}:2: occurred_at: 2031-01-01T00:00:00+00:00 is in the future "
        "(more than 24 h after 2026-11-25T00:00:00+00:00)"
    ]
    assert len(load_paths([path]).events) == 2  # without a clock (offline tools), no check


def test_no_record_is_dated_at_or_after_the_contracts_last_day() -> None:
    late = event_dict(occurred_at="2200-01-01T00:00:00Z", recorded_at="2200-01-02T00:00:00Z")
    with pytest.raises(InvalidRecord, match="is not before 2200-01-01"):
        parse_event(late)


def _threat(event_id: str, day: str, target: str = "KAZ", **extra: object) -> str:
    fields = {
        "event_id": event_id,
        "occurred_at": f"2022-10-{day}T00:00:00Z",
        "actor": {"country": "RUS", "kind": "government"},
        "target": {"country": target, "kind": "state"},
        "action": "threaten",
        "cameo": "138",
        "envoy": None,
        "summary": "Russia threatened its neighbour.",
    }
    return json.dumps(event_dict(**{**fields, **extra}))


def test_a_retraction_or_correction_of_another_pair_than_its_act_is_refused(
    tmp_path: Path,
) -> None:
    """Folded in its own pair, it would leave the act standing in the act's pair: a
    correction that re-codes Kazakhstan as Kyrgyzstan would keep KAZ:RUS's alerts and
    raise KGZ:RUS's too. Refused at its line, naming the act's; wherever the act is."""
    path = _write(
        tmp_path / "events.jsonl",
        [
            _threat("moved.r1", "04", "KGZ", corrects="moved"),  # before its act
            _threat("moved", "04"),
            _threat("kept", "05"),
            _threat("kept.r1", "05", retracts="kept", action="statement", cameo="010"),
            _threat("other", "06"),
            _threat("other.r1", "06", "KGZ", retracts="other", action="statement", cameo="010"),
            _threat("same.r1", "07", corrects="fine"),
            _threat("fine", "07"),
        ],
    )
    report = load_paths([path])
    assert [str(p) for p in report.problems] == [
        f"{path}:1: corrects 'moved', an act of KAZ:RUS, but is itself of KGZ:RUS: folded in "
        "KGZ:RUS, it would leave that act standing in KAZ:RUS; to move the act to KGZ:RUS, "
        f"retract 'moved' with a record of KAZ:RUS and publish the act anew (the act: {path}:2)",
        f"{path}:6: retracts 'other', an act of KAZ:RUS, but is itself of KGZ:RUS: folded in "
        "KGZ:RUS, it would leave that act standing in KAZ:RUS; give the retraction its act's "
        f"actor and target countries (the act: {path}:5)",
    ]
    assert report.problems[0].raw == path.read_bytes().splitlines()[0]  # dead-lettered as read
    kept = [item.event.event_id for item in report.events]
    assert kept == ["moved", "kept", "kept.r1", "other", "fine", "same.r1"]
    # A retraction or correction of an act not in these files may still be right.
    alone = _write(tmp_path / "alone.jsonl", [_threat("x.r1", "04", "KGZ", corrects="x")])
    assert load_paths([alone]).problems == []


def test_a_correction_dated_past_the_lateness_from_its_act_is_refused(tmp_path: Path) -> None:
    """Folded at its own time, it may find its act settled (a busy pair moves its base
    on weekly): the act would stand beside the correction. Within the lateness it is
    put in its act's place."""
    path = _write(
        tmp_path / "events.jsonl",
        [
            _threat("a", "01"),
            _threat("a.r1", "31", corrects="a"),  # 30 days later: placed
            _threat("b", "02"),
            json.dumps(
                json.loads(_threat("b.r1", "02", corrects="b"))
                | {"occurred_at": "2022-12-01T00:00:00Z"}
            ),
        ],
    )
    report = load_paths([path])
    assert [str(p) for p in report.problems] == [
        f"{path}:4: corrects 'b' of 2022-10-02 but is dated 2022-12-01, 60 days apart: more "
        "than the allowed lateness (30 days), so the act may be settled when it is folded and "
        "would stand; to re-date the act, retract 'b' (dated as it) and publish the act anew "
        f"(the act: {path}:3)"
    ]
    assert load_paths([path], lateness_days=90).problems == []
