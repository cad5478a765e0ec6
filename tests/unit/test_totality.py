"""No record can stop the folds: they are total over everything the contract accepts.

Hypothesis draws schema-valid events over the whole range of dates the schema allows
(EPOCH up to LATEST), every action with each of its CAMEO codes, envoy acts included,
and settings anywhere within their documented bounds; the pipeline must fold them all
without an exception, and the state must survive its JSON round trip.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from folds.decay import MIN_HALF_LIFE_DAYS
from folds.offline import fold_offline
from folds.registry import build_folds
from infra.settings import Settings
from schemas.codebook import ACTION_CAMEO, Action
from schemas.codec import decode_event, encode_event, parse_event
from schemas.errors import InvalidRecord
from schemas.events import EPOCH, LATEST, DiplomaticEvent
from tests.helpers import event_dict

_COUNTRIES = ["KAZ", "RUS", "UKR"]
_KINDS = ["state", "head_of_state", "foreign_ministry", "media", "military", "legislator"]


@st.composite
def contract_events(draw: st.DrawFn) -> DiplomaticEvent:
    actor, target = draw(st.lists(st.sampled_from(_COUNTRIES), min_size=2, max_size=2, unique=True))
    action = draw(st.sampled_from(list(Action)))
    when = draw(
        st.datetimes(
            min_value=EPOCH.replace(tzinfo=None),
            max_value=(LATEST - timedelta(days=2)).replace(tzinfo=None),
            timezones=st.just(UTC),
        )
    )
    envoy_act = action.value.startswith("envoy_") or action is Action.SUMMON_ENVOY
    sending = draw(st.sampled_from([actor, target]))
    host = target if sending == actor else actor
    return parse_event(
        event_dict(
            event_id=f"e{draw(st.integers(0, 10**6))}",
            occurred_at=when.isoformat(),
            recorded_at=(when + timedelta(days=1)).isoformat(),
            actor={"country": actor, "kind": draw(st.sampled_from(_KINDS))},
            target={"country": target, "kind": draw(st.sampled_from(_KINDS))},
            action=action.value,
            cameo=draw(st.sampled_from(ACTION_CAMEO[action])),
            envoy={"sending_country": sending, "host_country": host} if envoy_act else None,
        )
    )


_settings = st.builds(
    Settings,
    half_life_days=st.floats(MIN_HALF_LIFE_DAYS, 3650),
    baseline_half_life_days=st.floats(MIN_HALF_LIFE_DAYS, 36500),
    summons_expiry_days=st.floats(0.001, 3650),
    reciprocal_window_days=st.floats(0.001, 365),
    allowed_lateness_days=st.floats(0.001, 36_500),
    tension_hysteresis=st.floats(0.01, 1),
    spike_ratio=st.floats(1.01, 100),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(contract_events(), min_size=1, max_size=30), _settings)
def test_the_folds_accept_every_event_the_contract_accepts(
    events: list[DiplomaticEvent], config: Settings
) -> None:
    refused: list[tuple[str, str]] = []
    state, _ = fold_offline(
        build_folds(config), events, lateness_days=config.allowed_lateness_days, refused=refused
    )
    # Only the lateness may refuse an event; a fold failing on one would be listed too.
    assert all("past the allowed lateness" in reason for _, reason in refused), refused
    assert json.loads(json.dumps(state)) == state


def test_the_latest_date_with_the_shortest_half_life_folds() -> None:
    config = Settings(half_life_days=MIN_HALF_LIFE_DAYS, baseline_half_life_days=MIN_HALF_LIFE_DAYS)
    late = datetime(2199, 12, 30, tzinfo=UTC)
    events = [
        parse_event(
            event_dict(
                event_id=f"late-{i}",
                occurred_at=(late - timedelta(days=i)).isoformat(),
                recorded_at=(late + timedelta(days=1)).isoformat(),
                action="threaten",
                cameo="138",
                envoy=None,
            )
        )
        for i in range(3)
    ]
    refused: list[tuple[str, str]] = []
    state, alerts = fold_offline(build_folds(config), events, refused=refused)
    assert refused == [] and state["tension"]["KAZ:RUS"]["state"]["events"] == 3
    assert alerts, "a threat raises the level"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(contract_events(), st.sampled_from(["", "drop", "type", "extra", "v1"]))
def test_the_fast_decode_agrees_with_the_careful_one(event: DiplomaticEvent, fault: str) -> None:
    """``decode_event`` validates a current record from its bytes in one pass; on any
    other input it takes the careful path (dict, upcast, validation). Either way the
    event, or the reason it is refused, is what the careful path alone gives."""
    data = json.loads(encode_event(event))
    if fault == "drop":
        del data["summary"]
    elif fault == "type":
        data["goldstein"] = "very"
    elif fault == "extra":
        data["unexpected"] = 1
    elif fault == "v1":
        data["schema_version"] = 1
        data.pop("mode", None)
    raw = json.dumps(data).encode()
    try:
        careful: DiplomaticEvent | str = parse_event(json.loads(raw))
    except InvalidRecord as exc:
        careful = exc.reason
    try:
        fast: DiplomaticEvent | str = decode_event(raw)
    except InvalidRecord as exc:
        fast = exc.reason
    assert fast == careful
    if not fault:
        assert fast == event
