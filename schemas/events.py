"""DiplomaticEvent: an immutable record of one diplomatic act (schema version 1)."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Final, Literal, Self

import pycountry
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    model_validator,
)

from schemas.codebook import ACTION_CAMEO, SCALE, Action, Scale, cameo_codes, goldstein
from schemas.errors import InvalidRecord

#: How far after its log time (record timestamp, or the wall clock for live intake) an
#: event may be dated: day-precision dates of events published the same day, clock skew.
FUTURE_TOLERANCE: Final = timedelta(days=1)

__all__ = [
    "EPOCH",
    "EVENT_ID_NAMESPACE",
    "EVENT_SCHEMA_VERSION",
    "FUTURE_TOLERANCE",
    "LATEST",
    "Country",
    "DatePrecision",
    "DiplomaticEvent",
    "Envoy",
    "Party",
    "PartyKind",
    "Source",
    "check_log_time",
    "check_not_future",
    "derive_event_id",
    "dyad_of",
]

EVENT_SCHEMA_VERSION: Final = 1
#: Namespace of derived event ids: uuid5(EVENT_ID_NAMESPACE, canonical content).
EVENT_ID_NAMESPACE: Final = uuid.uuid5(uuid.NAMESPACE_URL, "https://dipwatch.org/events")
#: The project's one epoch: the earliest time a record may carry, day 0 of the dedup
#: clock and the origin of the decay sums (before it exact sums would need huge integers;
#: no source needs it).
EPOCH: Final = datetime(1900, 1, 1, tzinfo=UTC)
#: No record is dated at or after this: a bound for every date of the contract (the
#: intake entries also refuse anything after their clock + FUTURE_TOLERANCE), so the
#: folds' exact decay sums stay within bounds (see streams/folds/decay.py).
LATEST: Final = datetime(2200, 1, 1, tzinfo=UTC)


def _alpha3(value: str) -> str:
    if pycountry.countries.get(alpha_3=value) is None:
        raise ValueError(f"unknown ISO 3166-1 alpha-3 country code {value!r}")
    return value


def _language(value: str) -> str:
    if pycountry.languages.get(alpha_2=value) is None:
        raise ValueError(f"unknown ISO 639-1 language code {value!r}")
    return value


def _utc(value: datetime) -> datetime:
    if value < EPOCH:
        raise ValueError(f"{value.isoformat()} is before {EPOCH.date()}")
    if value >= LATEST:
        raise ValueError(f"{value.isoformat()} is not before {LATEST.date()}")
    return value.astimezone(UTC)


Country = Annotated[str, Field(pattern=r"^[A-Z]{3}$"), AfterValidator(_alpha3)]
UtcDatetime = Annotated[AwareDatetime, AfterValidator(_utc)]
EventId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")]
DatePrecision = Literal["day", "month", "year"]

_FROZEN = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class PartyKind(StrEnum):
    """What kind of body acts or is acted on."""

    HEAD_OF_STATE = "head_of_state"
    GOVERNMENT = "government"
    FOREIGN_MINISTRY = "foreign_ministry"
    ENVOY = "envoy"
    LEGISLATOR = "legislator"
    STATE_BODY = "state_body"
    STATE_MEDIA = "state_media"
    MEDIA = "media"
    CIVIL_SOCIETY = "civil_society"
    BUSINESS = "business"
    MILITARY = "military"
    STATE = "state"


class Party(BaseModel):
    """One side of an act: a country, the kind of body, and optionally who."""

    model_config = _FROZEN
    country: Country
    kind: PartyKind
    name: str | None = Field(default=None, min_length=1, max_length=200)


class Envoy(BaseModel):
    """The envoy an act concerns: the sending country's head of mission in the host."""

    model_config = _FROZEN
    name: str | None = Field(default=None, min_length=1, max_length=200)
    sending_country: Country
    host_country: Country

    @model_validator(mode="after")
    def _two_countries(self) -> Self:
        if self.sending_country == self.host_country:
            raise ValueError("an envoy's sending and host country must differ")
        return self


class Source(BaseModel):
    """Where the fact was reported."""

    model_config = _FROZEN
    publisher: str = Field(min_length=1, max_length=200)
    title: str = Field(min_length=1, max_length=400)
    url: HttpUrl | None = None
    published: date | None = None
    language: Annotated[str, AfterValidator(_language)]


class DiplomaticEvent(BaseModel):
    """One diplomatic act, as a frozen fact. Corrections are new events, never edits."""

    model_config = _FROZEN
    event_id: EventId
    schema_version: Literal[1] = EVENT_SCHEMA_VERSION
    occurred_at: UtcDatetime
    date_precision: DatePrecision
    recorded_at: UtcDatetime
    actor: Party
    target: Party
    action: Action
    cameo: str
    goldstein: float = Field(ge=-10, le=10)
    scale: Scale = SCALE
    envoy: Envoy | None = None
    summary: str = Field(min_length=1, max_length=1000)
    sources: tuple[Source, ...] = Field(min_length=1)
    corrects: EventId | None = None
    retracts: EventId | None = None
    note: str | None = Field(default=None, max_length=1000)

    @model_validator(mode="before")
    @classmethod
    def _fill_goldstein(cls, data: Any) -> Any:
        # goldstein follows from cameo; a record may omit it but never contradict it.
        if isinstance(data, dict):
            code = data.get("cameo")
            if isinstance(code, str) and code not in cameo_codes():
                raise ValueError(f"cameo: unknown CAMEO code {code!r}")
            if isinstance(code, str) and "goldstein" not in data:
                data = {**data, "goldstein": goldstein(code)}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.cameo not in cameo_codes():
            raise ValueError(f"unknown CAMEO code {self.cameo!r}")
        allowed = ACTION_CAMEO[self.action]
        if self.cameo not in allowed:
            raise ValueError(
                f"CAMEO {self.cameo} does not fit action {self.action.value!r} "
                f"(allowed: {', '.join(allowed)})"
            )
        if self.goldstein != goldstein(self.cameo):
            raise ValueError(
                f"goldstein {self.goldstein} contradicts CAMEO {self.cameo} "
                f"({goldstein(self.cameo)} on the {SCALE} scale)"
            )
        if self.actor.country == self.target.country:
            raise ValueError("actor and target must be different countries (a dyad)")
        if self.envoy is not None and {self.envoy.sending_country, self.envoy.host_country} != {
            self.actor.country,
            self.target.country,
        }:
            raise ValueError("the envoy's countries must be the actor's and target's")
        envoy_act = self.action.value.startswith("envoy_") or self.action is Action.SUMMON_ENVOY
        if envoy_act and self.envoy is None:
            raise ValueError(f"action {self.action.value!r} needs an envoy")
        if self.occurred_at > self.recorded_at:
            raise ValueError(
                f"occurred_at {self.occurred_at.isoformat()} is after recorded_at "
                f"{self.recorded_at.isoformat()}: an event is recorded after it happens"
            )
        if self.event_id in (self.corrects, self.retracts):
            raise ValueError("an event cannot correct or retract itself")
        return self

    @property
    def dyad(self) -> str:
        """The unordered pair of countries, e.g. ``KAZ:RUS`` (the topic key)."""
        return dyad_of(self.actor.country, self.target.country)

    def content_digest(self) -> str:
        """Hash of everything but ``recorded_at``: two records of one fact agree on it."""
        return hashlib.sha256(_canonical(self.model_dump(mode="json"))).hexdigest()


def check_not_future(event: DiplomaticEvent, now: datetime) -> None:
    """Refuse an event dated more than ``FUTURE_TOLERANCE`` after ``now`` (the entry's
    clock: ``publish``, ``replay``, ``POST /events``): an act is reported after it happens."""
    if event.occurred_at > now + FUTURE_TOLERANCE:
        raise InvalidRecord(
            f"occurred_at: {event.occurred_at.isoformat()} is in the future "
            f"(more than {FUTURE_TOLERANCE.total_seconds() / 3600:g} h after "
            f"{now.isoformat(timespec='seconds')})",
            (("occurred_at", f"{event.occurred_at.isoformat()} is in the future"),),
        )


def check_log_time(event: DiplomaticEvent, record_timestamp_s: float | None) -> None:
    """Refuse an event dated after the record that carries it (log time, not wall clock:
    a replay of the same log decides the same)."""
    if record_timestamp_s is None or record_timestamp_s <= 0:
        return
    if event.occurred_at.timestamp() > record_timestamp_s + FUTURE_TOLERANCE.total_seconds():
        logged = datetime.fromtimestamp(record_timestamp_s, UTC).isoformat(timespec="seconds")
        raise InvalidRecord(
            f"occurred_at {event.occurred_at.isoformat()} is in the future of its record "
            f"(record timestamp {logged}): an event cannot be published before it happens"
        )


def dyad_of(a: str, b: str) -> str:
    """Return the key of the unordered pair of countries ``a`` and ``b``."""
    return ":".join(sorted((a, b)))


def _canonical(data: dict[str, Any]) -> bytes:
    content = {k: v for k, v in data.items() if k not in ("event_id", "recorded_at")}
    return json.dumps(content, sort_keys=True, separators=(",", ":")).encode()


def derive_event_id(data: dict[str, Any]) -> str:
    """Derive a deterministic event id (uuid5) from an event's canonical content."""
    return str(uuid.uuid5(EVENT_ID_NAMESPACE, _canonical(data).decode()))
