"""Records: the contract, the codebook rules and the codec."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from uuid import uuid5

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas import Action, InvalidRecord, decode_event, encode_event, parse_event
from schemas.alerts import ALERT_ID_NAMESPACE, alert_id
from schemas.codebook import ACTION_CAMEO, goldstein
from schemas.events import dyad_of, month_window, year_window
from schemas.jsonschema_export import SCHEMA_DIR, render
from schemas.text import _UNSAFE, check_clean, printable
from tests.helpers import event_dict, make_event


def test_goldstein_is_derived_from_the_cameo_code() -> None:
    assert make_event().goldstein == goldstein("110") == -2.0


def test_summons_is_coded_disapprove_not_consult() -> None:
    with pytest.raises(InvalidRecord, match="does not fit action 'summon_envoy'"):
        parse_event(event_dict(cameo="040"))


def test_goldstein_contradicting_the_code_is_refused() -> None:
    with pytest.raises(InvalidRecord, match=r"goldstein 1\.0 contradicts CAMEO 110"):
        parse_event(event_dict(goldstein=1.0))


@pytest.mark.parametrize("goldstein_given", [False, True])
def test_an_unknown_code_is_one_error_at_cameo_on_both_paths(goldstein_given: bool) -> None:
    # goldstein follows from cameo: an unknown code is not a second, goldstein error.
    data = event_dict(cameo="999", **({"goldstein": -2.0} if goldstein_given else {}))
    reasons = set()
    for decode in (parse_event, lambda d: decode_event(json.dumps(d))):
        with pytest.raises(InvalidRecord) as refused:
            decode(data)
        reasons.add(refused.value.reason)
    assert reasons == {"cameo: Value error, unknown CAMEO code '999'"}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"actor": {"country": "XXX", "kind": "state"}}, "unknown ISO 3166-1 alpha-3"),
        ({"action": "hug"}, "action"),
        ({"cameo": "999"}, "unknown CAMEO code '999'"),
        ({"sources": []}, "sources"),
        ({"occurred_at": "2022-10-04T00:00:00"}, "occurred_at"),
        ({"colour": "red"}, "colour: Extra inputs are not permitted"),
        ({"target": {"country": "RUS", "kind": "state"}, "envoy": None}, "different countries"),
        ({"envoy": None}, "needs an envoy"),
        ({"schema_version": 3}, "schema_version: 3 is newer"),
    ],
)
def test_invalid_records_are_refused_with_the_field(
    overrides: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidRecord, match=message):
        parse_event(event_dict(**overrides))


def test_datetimes_are_normalised_to_utc() -> None:
    event = make_event(occurred_at="2022-10-04T03:00:00+03:00")
    assert event.occurred_at.isoformat() == "2022-10-04T00:00:00+00:00"


def test_every_action_maps_to_known_cameo_codes() -> None:
    assert set(ACTION_CAMEO) == set(Action)
    for codes in ACTION_CAMEO.values():
        assert all(-10 <= goldstein(c) <= 10 for c in codes)


def test_decode_refuses_garbage_with_a_reason() -> None:
    with pytest.raises(InvalidRecord, match="not JSON"):
        decode_event(b"\x00not json")
    with pytest.raises(InvalidRecord, match="expected a JSON object"):
        decode_event(b"[1, 2]")
    with pytest.raises(InvalidRecord, match="over the"):
        decode_event(b" " * (1024 * 1024))


def test_checked_in_json_schemas_match_the_models() -> None:
    for name, text in render().items():
        assert (SCHEMA_DIR / name).read_text("utf-8") == text, f"{name} drifted: run `make schemas`"


_countries = st.sampled_from(["KAZ", "RUS", "UKR", "POL", "USA"])
_actions = st.sampled_from(
    [a for a in Action if not a.value.startswith("envoy_") and a is not Action.SUMMON_ENVOY]
)


def _clean_text(size: int) -> st.SearchStrategy[str]:
    """Any text a record accepts: stripped, non-empty, no control or bidi characters."""
    return (
        st.text(min_size=1, max_size=size)
        .map(str.strip)
        .filter(lambda t: bool(t) and printable(t) == t)
    )


@st.composite
def events(draw: st.DrawFn) -> dict[str, object]:
    actor, target = draw(st.lists(_countries, min_size=2, max_size=2, unique=True))
    action = draw(_actions)
    when = draw(
        st.datetimes(
            min_value=datetime(1950, 1, 1, tzinfo=UTC).replace(tzinfo=None),
            # a month or year window must start before recorded_at (2026-11-21)
            max_value=datetime(2025, 12, 31, tzinfo=UTC).replace(tzinfo=None),
            timezones=st.just(UTC),
        )
    )
    return event_dict(
        event_id=draw(st.from_regex(r"[a-z0-9][a-z0-9-]{0,20}", fullmatch=True)),
        occurred_at=when.isoformat(),
        actor={
            "country": actor,
            "kind": "state",
            "name": draw(st.none() | _clean_text(30)),
        },
        target={"country": target, "kind": "government"},
        action=action.value,
        cameo=draw(st.sampled_from(ACTION_CAMEO[action])),
        envoy=None,
        summary=draw(_clean_text(80)),
        **_dated(when, draw(st.sampled_from(["day", "month", "year"]))),
    )


def _dated(when: datetime, precision: str) -> dict[str, object]:
    """The date fields of an event of ``precision`` at ``when``."""
    at = when
    if precision == "day":
        return {"date_precision": "day"}
    window = month_window(at) if precision == "month" else year_window(at)
    return {"date_precision": precision, "occurred_window": window.model_dump(mode="json")}


@settings(max_examples=200, deadline=None)
@given(events())
def test_codec_round_trip(data: dict[str, object]) -> None:
    event = parse_event(data)
    assert decode_event(encode_event(event)) == event
    assert json.loads(encode_event(event))["scale"] == "cameo-goldstein-phoenix"


@pytest.mark.parametrize("bad", ["\x1b[2J", "a\u202eb", "line\nbreak", "\x00"])
def test_control_and_bidi_characters_are_refused_in_text_fields(bad: str) -> None:
    with pytest.raises(InvalidRecord, match="control or bidirectional character"):
        make_event(summary=f"ok {bad} ok")
    with pytest.raises(InvalidRecord, match=r"actor\.name"):
        make_event(actor={"country": "RUS", "kind": "state", "name": f"x{bad}y"})
    assert "\\u" in printable(bad)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40), st.text(max_size=40), st.text(max_size=80))
def test_an_alert_id_is_the_uuid5_of_rule_key_and_event(rule: str, key: str, event: str) -> None:
    assert alert_id(rule, key, event) == str(uuid5(ALERT_ID_NAMESPACE, f"{rule}|{key}|{event}"))


@given(
    st.text(alphabet="ABCKRSUZ", min_size=3, max_size=3),
    st.text("ABCKRSUZ", min_size=3, max_size=3),
)
def test_a_dyad_key_is_the_sorted_pair(a: str, b: str) -> None:
    assert dyad_of(a, b) == dyad_of(b, a) == ":".join(sorted((a, b)))


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=30))
def test_text_is_refused_exactly_when_it_holds_a_control_or_bidi_character(text: str) -> None:
    # check_clean's fast path (str.isprintable) must refuse what the pattern refuses.
    unsafe = _UNSAFE.search(text) is not None
    try:
        check_clean(text)
        refused = False
    except ValueError:
        refused = True
    assert refused == unsafe


def test_every_unsafe_character_is_not_printable() -> None:
    unsafe = [chr(c) for c in range(0x110000) if _UNSAFE.match(chr(c))]
    assert len(unsafe) == 77 and not any(c.isprintable() for c in unsafe)
