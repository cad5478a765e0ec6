"""Analyst intake (JSON/YAML, field errors) and the query views, without a broker."""

from __future__ import annotations

import itertools
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from folds import TensionFold
from folds.history import ConflictHistory, HistoryState
from folds.offline import fold_offline
from folds.registry import build_folds
from folds.tension import TensionState
from infra.settings import Settings
from query.views import tension_view
from replay.loader import bundled_corpus, load_paths
from schemas.errors import InvalidRecord
from schemas.events import EPOCH, DiplomaticEvent
from schemas.intake import (
    MAX_EVENTS_PER_DOCUMENT,
    IntakeRefused,
    parse_document,
    read_document,
    validate_events,
)
from tests.helpers import event_dict, moved_to_kyrgyzstan

CORPUS = [item.event for item in load_paths([bundled_corpus()]).events]


def test_one_event_a_list_or_an_events_object_are_all_accepted() -> None:
    one = event_dict(event_id="a1")
    two = event_dict(event_id="a2")
    assert [e.event_id for e in validate_events(one)] == ["a1"]
    assert [e.event_id for e in validate_events([one, two])] == ["a1", "a2"]
    assert [e.event_id for e in validate_events({"events": [two]})] == ["a2"]


def test_every_bad_field_of_every_event_is_named_and_nothing_is_accepted() -> None:
    good = event_dict(event_id="ok")
    bad = event_dict(event_id="bad")
    bad["actor"]["country"] = "XXX"
    bad["goldstein"] = 42
    with pytest.raises(IntakeRefused) as caught:
        validate_events([good, bad, "not an object"], "events.yaml")
    fields = {(e.index, e.field.split(".")[0]) for e in caught.value.errors}
    assert (1, "actor") in fields and (1, "goldstein") in fields and (2, "record") in fields
    assert all(e.index != 0 for e in caught.value.errors)
    assert str(caught.value).startswith("events.yaml: event 1: ")


def test_a_future_date_is_refused_against_the_wall_clock() -> None:
    soon = event_dict(
        event_id="f", occurred_at="2030-01-01T00:00:00Z", recorded_at="2030-01-01T00:00:00Z"
    )
    with pytest.raises(IntakeRefused, match=r"occurred_at: .* is in the future"):
        validate_events(soon, now=datetime(2026, 1, 1, tzinfo=UTC))


def test_yaml_documents_read_like_json_dates_included(tmp_path: Path) -> None:
    import yaml

    doc = [event_dict(event_id="y1"), event_dict(event_id="y2")]
    path = tmp_path / "events.yaml"

    class NoAliases(yaml.SafeDumper):
        def ignore_aliases(self, data: object) -> bool:
            return True

    # Unquoted ISO dates in YAML must not become datetime objects (naive ones would fail).
    text = yaml.dump(doc, Dumper=NoAliases)
    for date in ("2022-10-04T00:00:00Z", "2026-11-21T00:00:00Z"):
        text = text.replace(f"'{date}'", date)
    assert "occurred_at: 2022-10-04T00:00:00Z" in text
    path.write_text(text)
    assert [e.event_id for e in read_document(path)] == ["y1", "y2"]
    assert parse_document(json.dumps(doc)) == doc
    with pytest.raises(Exception, match="not JSON"):
        parse_document(b"- a: 1", yaml_allowed=False)


def _history(events: list[DiplomaticEvent]) -> HistoryState:
    history = ConflictHistory()
    state = history.initial("KAZ:RUS")
    for event in events:
        state, _ = history.apply(state, event)
    return state


def test_tension_history_does_not_depend_on_arrival_order() -> None:
    ordered = [e for e in CORPUS if e.dyad == "KAZ:RUS"]
    shuffled = list(ordered)
    random.Random(7).shuffle(shuffled)
    state, other = _history(ordered), _history(shuffled)
    assert other.weeks == state.weeks and state.weeks
    assert ConflictHistory().points(other) == ConflictHistory().points(state)


def test_the_chart_of_kazakhstan_russia_peaks_in_october_2022() -> None:
    states, _ = fold_offline(build_folds(Settings()), CORPUS)
    fold = TensionFold()
    state = TensionState.model_validate(states["tension"]["KAZ:RUS"]["state"])
    history = ConflictHistory().points(_history([e for e in CORPUS if e.dyad == "KAZ:RUS"]))
    view = tension_view(fold, state, history, datetime(2026, 1, 1, tzinfo=UTC))
    peak = max(view["history"], key=lambda p: p["conflict"])
    assert peak["at"].startswith("2022-10")
    # The last point is the score at the end of the dyad's last week with events.
    assert view["history"][-1]["conflict"] == pytest.approx(
        fold.scores(state, datetime.fromisoformat(view["history"][-1]["at"]))["conflict"], rel=1e-3
    )
    # The level fell through its bands in event time (timers), not at a next event.
    assert view["level"] == "calm" and view["projected"]["level"] == "calm"


def test_the_documented_example_file_is_valid() -> None:
    root = Path(__file__).resolve().parents[2]
    events = read_document(root / "docs/examples/new-events.yaml")
    assert [e.dyad for e in events] == ["KAZ:RUS"]


def test_a_yaml_alias_bomb_is_refused_before_it_expands() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    with pytest.raises(InvalidRecord, match="aliases are not accepted"):
        parse_document("\n".join(lines))


def test_a_document_of_too_many_events_is_refused_whole() -> None:
    many = [event_dict(event_id=f"e{i}") for i in range(MAX_EVENTS_PER_DOCUMENT + 1)]
    with pytest.raises(IntakeRefused, match=f"at most {MAX_EVENTS_PER_DOCUMENT} per document"):
        validate_events(many)


def test_one_id_with_two_contents_in_one_document_is_refused() -> None:
    twice = [event_dict(event_id="same"), event_dict(event_id="same", summary="Other.")]
    with pytest.raises(IntakeRefused, match="'same' is used twice with different content"):
        validate_events(twice)
    same = validate_events([event_dict(event_id="same"), event_dict(event_id="same")])
    assert len(same) == 2  # a repeat of one fact is harmless: the worker dedups it


def test_a_correction_of_another_pair_than_its_act_in_the_document_is_refused() -> None:
    """Whichever comes first in the document (docs/ARCHITECTURE.md, "Event time")."""
    act = event_dict(event_id="act")
    moved = moved_to_kyrgyzstan("act.r1", corrects="act")
    with pytest.raises(IntakeRefused) as caught:
        validate_events([moved, act])
    assert [(e.index, e.field) for e in caught.value.errors] == [(0, "corrects")]
    assert "an act of KAZ:RUS, but is itself of KGZ:RUS" in str(caught.value)
    same = event_dict(event_id="act.r1", corrects="act", summary="Russia summoned him again.")
    assert len(validate_events([same, act])) == 2


def test_an_event_too_large_for_the_topic_is_refused_at_intake() -> None:
    sources = [{"publisher": f"Wire {i}", "title": "t" * 400, "language": "en"} for i in range(700)]
    with pytest.raises(IntakeRefused, match="bytes encoded; the events topic takes"):
        validate_events(event_dict(sources=sources))


def test_deeply_nested_documents_are_refused_with_a_reason_not_a_traceback() -> None:
    with pytest.raises(InvalidRecord, match="beyond this reader's limits"):
        parse_document(b"[" * 100_000 + b"]" * 100_000)
    with pytest.raises(InvalidRecord, match="beyond this reader's limits"):
        parse_document("- " * 5000 + "x")


WEEK = timedelta(days=7)


def test_the_chart_draws_the_decay_between_acts_not_straight_lines() -> None:
    """RUS:UKR: the invasion week, then little until a 2025 strike. The chart falls week
    by week as the score halves every 30 days, lies flat near zero through the quiet
    stretch and rises in the week of the next act — never a line across two years."""
    events = [e for e in CORPUS if e.dyad == "RUS:UKR"]
    points = ConflictHistory().points(_history(events))
    weeks = [(b[0] - a[0]).days for a, b in itertools.pairwise(points)]
    first_quiet = next(i for i, (_, v) in enumerate(points) if v < 0.05)
    # Weekly samples down to the floor, each about 2**(-7/30) of the one before.
    assert set(weeks[: first_quiet - 1]) == {7}
    acts = {EPOCH + ((e.occurred_at - EPOCH) // WEEK + 1) * WEEK for e in events}
    decay = 2 ** (-7 / 30)
    for (_, before), (at, after) in itertools.pairwise(points[:first_quiet]):
        if at not in acts:  # a week without an act: pure decay
            assert after == pytest.approx(before * decay, abs=0.002)
    # The long gap is flat near zero up to the week before the next act.
    gap = max(range(len(weeks)), key=weeks.__getitem__)
    assert weeks[gap] > 365 and points[gap + 1][1] < 0.05
    assert points[gap + 2][1] > 1  # the next act's week
