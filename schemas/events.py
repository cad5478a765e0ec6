"""DiplomaticEvent: an immutable record of one diplomatic act (schema version 2).

Version 2 says as much as the sources do and no more: the act's ``mode`` (done,
announced, threatened, demanded, denied), a ``occurred_window`` when the sources give no
day, and any CAMEO code of the pinned codebook (``action`` only where it is known).
``schemas.codec`` upcasts version-1 records.
"""

from __future__ import annotations

import hashlib
import json
import math
import uuid
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from functools import cache
from typing import Annotated, Any, Final, Literal, Self

import pycountry
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    model_validator,
)

from schemas.codebook import ACTION_CAMEO, SCALE, Action, Scale, cameo_codes, goldstein
from schemas.coverage import Coverage
from schemas.dating import EPOCH, LATEST, UtcDatetime, Window, month_window, year_window
from schemas.errors import InvalidRecord
from schemas.text import CleanText

#: How far after its log time (record timestamp, or the wall clock for live intake) an
#: event may be dated: day-precision dates of events published the same day, clock skew.
FUTURE_TOLERANCE: Final = timedelta(days=1)
#: How far behind a partition's latest event time an event, a retraction or a
#: correction is still placed exactly (``DIPWATCH_ALLOWED_LATENESS_DAYS``'s default).
ALLOWED_LATENESS_DAYS: Final = 30

__all__ = [
    "ALLOWED_LATENESS_DAYS",
    "EPOCH",
    "EVENT_ID_NAMESPACE",
    "EVENT_SCHEMA_VERSION",
    "FUTURE_TOLERANCE",
    "LATEST",
    "Country",
    "Coverage",
    "DatePrecision",
    "DiplomaticEvent",
    "Envoy",
    "Party",
    "PartyKind",
    "Source",
    "Window",
    "check_log_time",
    "check_not_future",
    "check_replaces",
    "derive_event_id",
    "dyad_of",
    "month_window",
    "parse_dyad",
    "upcast_v1",
    "year_window",
]

EVENT_SCHEMA_VERSION: Final = 2
#: Namespace of derived event ids: uuid5(EVENT_ID_NAMESPACE, canonical content).
EVENT_ID_NAMESPACE: Final = uuid.uuid5(uuid.NAMESPACE_URL, "https://dipwatch.org/events")


@cache  # valid codes only (a refusal raises): at most the 249 of ISO 3166-1
def _alpha3(value: str) -> str:
    if pycountry.countries.get(alpha_3=value) is None:
        raise ValueError(f"unknown ISO 3166-1 alpha-3 country code {value!r}")
    return value


@cache
def _language(value: str) -> str:
    if pycountry.languages.get(alpha_2=value) is None:
        raise ValueError(f"unknown ISO 639-1 language code {value!r}")
    return value


def _known_cameo(code: str) -> str:
    if code not in cameo_codes():
        raise ValueError(f"unknown CAMEO code {code!r}")
    return code


def _goldstein_of(data: dict[str, Any]) -> float:
    # The fields before it, validated; a record whose code failed gets its error there.
    code = data.get("cameo")
    return goldstein(code) if code is not None else math.nan


Country = Annotated[str, Field(pattern=r"^[A-Z]{3}$"), AfterValidator(_alpha3)]
#: A code of the pinned codebook (schemas/codebook.py).
CameoCode = Annotated[str, AfterValidator(_known_cameo)]
EventId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")]
#: How precisely the sources date the act: a day; a calendar month or year; or a window
#: between two days ("after 5 Oct 2022", "Aug-Oct 2022").
DatePrecision = Literal["day", "month", "year", "window"]

#: Actions that concern an envoy, so that a record of one must name the envoy.
_ENVOY_ACTS: Final = frozenset(
    a for a in Action if a.value.startswith("envoy_") or a is Action.SUMMON_ENVOY
)

_FROZEN = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class Mode(StrEnum):
    """Whether the act took place (after PLOVER's modes). Folds treat each explicitly
    (docs/TENSION.md): only a ``done`` act moves an envoy or opens a summons case."""

    DONE = "done"  #: it took place
    ANNOUNCED = "announced"  #: the actor said it will do it ("wezwą": will summon)
    THREATENED = "threatened"  #: the actor threatened to do it, on a condition
    DEMANDED = "demanded"  #: the actor demanded that the target do it
    DENIED = "denied"  #: the actor denied doing it, or refused to


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
    name: CleanText | None = Field(default=None, min_length=1, max_length=200)


class Envoy(BaseModel):
    """The envoy an act concerns: the sending country's head of mission in the host."""

    model_config = _FROZEN
    name: CleanText | None = Field(default=None, min_length=1, max_length=200)
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
    publisher: CleanText = Field(min_length=1, max_length=200)
    title: CleanText = Field(min_length=1, max_length=400)
    url: HttpUrl | None = None
    published: date | None = None
    language: Annotated[str, AfterValidator(_language)]


class DiplomaticEvent(BaseModel):
    """One diplomatic act, as a frozen fact. Corrections are new events, never edits."""

    model_config = _FROZEN
    event_id: EventId
    schema_version: Literal[2] = EVENT_SCHEMA_VERSION
    #: The instant the folds use: the start of ``occurred_window`` when there is one.
    occurred_at: UtcDatetime
    date_precision: DatePrecision
    #: Required unless ``date_precision`` is ``day``: when the act may have happened.
    occurred_window: Window | None = None
    recorded_at: UtcDatetime
    actor: Party
    target: Party
    mode: Mode = Mode.DONE
    #: The project's own name for the act, where it is known; any CAMEO code may stand
    #: alone (imported datasets code acts the vocabulary does not name).
    action: Action | None = None
    cameo: CameoCode
    #: Follows from ``cameo``: a record may omit it but never contradict it.
    goldstein: float = Field(
        default_factory=_goldstein_of,
        ge=-10,
        le=10,
        description="The CAMEO code's Goldstein weight: derived from cameo when omitted, "
        "refused when it contradicts it.",
    )
    scale: Scale = SCALE
    envoy: Envoy | None = None
    summary: CleanText = Field(min_length=1, max_length=1000)
    sources: tuple[Source, ...] = Field(min_length=1)
    #: For an act imported from a coded dataset: the rows collapsed into it and how
    #: much reporting they stand for (provenance; the folds weigh the act once).
    coverage: Coverage | None = None
    #: The act this record replaces (``corrects``: with its own content) or withdraws
    #: (``retracts``). Dated as that act and about its pair: it is folded in its own
    #: pair's log (:func:`check_replaces`).
    corrects: EventId | None = None
    retracts: EventId | None = None
    note: CleanText | None = Field(default=None, max_length=1000)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        action, cameo, envoy = self.action, self.cameo, self.envoy
        if action is not None and cameo not in ACTION_CAMEO[action]:
            raise ValueError(
                f"CAMEO {cameo} does not fit action {action.value!r} "
                f"(allowed: {', '.join(ACTION_CAMEO[action])})"
            )
        weight = goldstein(cameo)
        if self.goldstein != weight:
            raise ValueError(
                f"goldstein {self.goldstein} contradicts CAMEO {cameo} "
                f"({weight} on the {SCALE} scale)"
            )
        actor, target = self.actor.country, self.target.country
        if actor == target:
            raise ValueError("actor and target must be different countries (a dyad)")
        if envoy is None:
            if action in _ENVOY_ACTS:
                raise ValueError(f"action {action!s} needs an envoy")
        elif {envoy.sending_country, envoy.host_country} != {actor, target}:
            raise ValueError("the envoy's countries must be the actor's and target's")
        if self.occurred_window is not None or self.date_precision != "day":
            self._check_window()
        if self.occurred_at > self.recorded_at:
            raise ValueError(
                f"occurred_at {self.occurred_at.isoformat()} is after recorded_at "
                f"{self.recorded_at.isoformat()}: an event is recorded after it happens"
            )
        if self.event_id in (self.corrects, self.retracts):
            raise ValueError("an event cannot correct or retract itself")
        return self

    def _check_window(self) -> None:
        window = self.occurred_window
        if window is None:
            if self.date_precision != "day":
                raise ValueError(
                    f"date_precision {self.date_precision!r} needs occurred_window "
                    "(earliest, latest): the sources give no day"
                )
            return
        if not window.earliest <= self.occurred_at <= window.latest:
            raise ValueError("occurred_at must lie within occurred_window")
        if window.earliest > self.recorded_at:
            raise ValueError("occurred_window starts after recorded_at")

    @property
    def when(self) -> str:
        """When the act happened, as precisely as the sources say (never a made-up day)."""
        if self.occurred_window is None:
            return self.occurred_at.date().isoformat()
        return self.occurred_window.label()

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


def check_replaces(
    record: DiplomaticEvent,
    act_dyad: str,
    act_at: datetime,
    lateness_days: float = ALLOWED_LATENESS_DAYS,
) -> None:
    """Refuse ``record``, a retraction or correction, if the worker could not put it in
    the place of the act it names (of pair ``act_dyad``, at ``act_at``): it is folded in
    its own pair's log and at its own time, so one of another pair, or dated more than
    the allowed lateness from its act, would leave the act standing, alerts and all (and
    a correction would count its new act beside it). Only an entry that sees both can
    tell: the worker folds one pair at a time, and a settled act is no longer retained
    (docs/ARCHITECTURE.md, "Event time")."""
    field, act = ("retracts", record.retracts) if record.retracts else ("corrects", record.corrects)
    if record.dyad != act_dyad:
        fix = (
            "give the retraction its act's actor and target countries"
            if field == "retracts"
            else f"to move the act to {record.dyad}, retract {act!r} with a record of "
            f"{act_dyad} and publish the act anew"
        )
        reason = (
            f"{field} {act!r}, an act of {act_dyad}, but is itself of {record.dyad}: "
            f"folded in {record.dyad}, it would leave that act standing in {act_dyad}; {fix}"
        )
        raise InvalidRecord(reason, ((field, reason),))
    gap = abs(record.occurred_at - act_at)
    if gap > timedelta(days=lateness_days):
        fix = (
            "date the retraction as its act"
            if field == "retracts"
            else f"to re-date the act, retract {act!r} (dated as it) and publish the act anew"
        )
        reason = (
            f"{field} {act!r} of {act_at.date()} but is dated {record.occurred_at.date()}, "
            f"{gap.days} days apart: more than the allowed lateness ({lateness_days:g} days), "
            f"so the act may be settled when it is folded and would stand; {fix}"
        )
        raise InvalidRecord(reason, ((field, reason),))


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


def upcast_v1(data: dict[str, Any]) -> dict[str, Any]:
    """Version 1 -> 2: every v1 act is ``done``; a month- or year-precise date gets its
    calendar month or year as the window (``occurred_at``, v1's estimate inside it, is
    kept, so the folds see the same instant)."""
    out = {**data, "schema_version": 2, "mode": Mode.DONE.value}
    precision, at = data.get("date_precision"), data.get("occurred_at")
    if precision in ("month", "year") and isinstance(at, str):
        try:
            instant = datetime.fromisoformat(at.replace("Z", "+00:00")).astimezone(UTC)
        except ValueError:
            return out  # validation names the bad date
        window = month_window(instant) if precision == "month" else year_window(instant)
        out["occurred_window"] = window.model_dump(mode="json")
    return out


def dyad_of(a: str, b: str) -> str:
    """Return the key of the unordered pair of countries ``a`` and ``b``."""
    return f"{a}:{b}" if a <= b else f"{b}:{a}"


def parse_dyad(text: str) -> str:
    """Return the dyad key a user means: ``rus:kaz``, ``RUS:KAZ`` -> ``KAZ:RUS``; raise
    ``ValueError`` for anything that is not two different alpha-3 codes."""
    parts = text.strip().upper().split(":")
    if len(parts) != 2 or any(len(p) != 3 or not p.isalpha() for p in parts):
        raise ValueError(f"not a dyad {text!r}: two ISO alpha-3 codes, e.g. KAZ:RUS")
    if parts[0] == parts[1]:
        raise ValueError(f"not a dyad {text!r}: the two countries must differ")
    return dyad_of(parts[0], parts[1])


def _canonical(data: dict[str, Any]) -> bytes:
    content = {k: v for k, v in data.items() if k not in ("event_id", "recorded_at")}
    return json.dumps(content, sort_keys=True, separators=(",", ":")).encode()


def derive_event_id(data: dict[str, Any]) -> str:
    """Derive a deterministic event id (uuid5) from an event's canonical content."""
    return str(uuid.uuid5(EVENT_ID_NAMESPACE, _canonical(data).decode()))
