"""The one codec of the project: JSON bytes <-> records, with schema upcasting."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, Final

from pydantic import ValidationError

from schemas.alerts import Alert, upcast_alert_v1
from schemas.errors import InvalidRecord
from schemas.events import EVENT_SCHEMA_VERSION, DiplomaticEvent, upcast_v1

__all__ = [
    "MAX_RECORD_BYTES",
    "UPCASTERS",
    "decode_alert",
    "decode_event",
    "describe_validation_error",
    "encode_alert",
    "encode_event",
    "field_errors",
    "parse_event",
]

#: A record larger than this is refused before it is parsed.
MAX_RECORD_BYTES: Final = 256 * 1024

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
#: version N -> function that turns a version-N dict into a version-(N+1) dict.
UPCASTERS: Final[Mapping[int, Upcaster]] = MappingProxyType({1: upcast_v1})


def encode_event(event: DiplomaticEvent) -> bytes:
    """Encode an event as compact JSON bytes."""
    return event.model_dump_json(exclude_none=True).encode()


def encode_alert(alert: Alert) -> bytes:
    """Encode an alert as compact JSON bytes."""
    return alert.model_dump_json().encode()


def field_errors(exc: ValidationError) -> tuple[tuple[str, str], ...]:
    """Return pydantic's errors as (``field.path``, message) pairs (not the echo of a
    field derived from one that failed, e.g. ``goldstein`` of an unknown ``cameo``)."""
    return tuple(
        (".".join(str(p) for p in err["loc"]) or "record", err["msg"])
        for err in exc.errors(include_url=False)
        if err["type"] != "default_factory_not_called"
    )


def describe_validation_error(exc: ValidationError) -> str:
    """Return pydantic's errors as one line: ``field.path: message; …``."""
    return "; ".join(f"{loc}: {msg}" for loc, msg in field_errors(exc))


def _upcast(data: dict[str, Any]) -> dict[str, Any]:
    version = data.get("schema_version", EVENT_SCHEMA_VERSION)
    if not isinstance(version, int) or isinstance(version, bool):
        raise InvalidRecord(f"schema_version: not an integer: {version!r}")
    if version > EVENT_SCHEMA_VERSION:
        raise InvalidRecord(
            f"schema_version: {version} is newer than this reader ({EVENT_SCHEMA_VERSION})"
        )
    while version < EVENT_SCHEMA_VERSION:
        if version not in UPCASTERS:
            raise InvalidRecord(f"schema_version: no upcaster from version {version}")
        data = UPCASTERS[version](data)
        version = data["schema_version"]
    return data


def parse_event(data: object) -> DiplomaticEvent:
    """Validate an already-parsed JSON value as an event, upcasting older versions."""
    if not isinstance(data, dict):
        raise InvalidRecord(f"record: expected a JSON object, got {type(data).__name__}")
    try:
        return DiplomaticEvent.model_validate(_upcast(data))
    except ValidationError as exc:
        raise InvalidRecord(describe_validation_error(exc), field_errors(exc)) from None
    except (ValueError, TypeError, RecursionError) as exc:
        raise InvalidRecord(f"record: cannot be validated ({_brief(exc)})") from None


def decode_event(raw: bytes | str | None) -> DiplomaticEvent:
    """Decode one event from JSON; :class:`InvalidRecord` says what is wrong.

    A valid record of the current version is parsed and validated in one pass by
    pydantic-core (JSON to model, no Python dict in between); anything else — an older
    version to upcast, or a record with a fault — takes the careful path below, which
    gives the same reasons as before the fast path existed.
    """
    if raw is None:
        raise InvalidRecord("record: empty value (tombstone)")
    if len(raw) > MAX_RECORD_BYTES:
        raise InvalidRecord(f"record: {len(raw)} bytes is over the {MAX_RECORD_BYTES} limit")
    try:
        # What ``model_validate_json`` calls, without its Python wrapper (~6 % here).
        return DiplomaticEvent.__pydantic_validator__.validate_json(raw)  # type: ignore[no-any-return]
    except (ValidationError, ValueError, RecursionError):
        pass  # not a valid current record: find out why, the careful way
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidRecord(f"record: not JSON ({exc})") from None
    except (ValueError, RecursionError) as exc:
        # Valid JSON that Python will not build: a number of over 4,300 digits, nesting
        # deeper than the interpreter's stack. Poison for any reader: refuse it here.
        raise InvalidRecord(f"record: JSON beyond this reader's limits ({_brief(exc)})") from None
    return parse_event(data)


def _brief(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {str(exc)[:200]}"


def decode_alert(raw: bytes | str) -> Alert:
    """Decode one alert from JSON (a version-1 or -2 alert is upcast)."""
    try:
        data = json.loads(raw)
        if isinstance(data, dict) and data.get("schema_version") in (1, 2):
            data = upcast_alert_v1(data)
        return Alert.model_validate(data)
    except ValidationError as exc:
        raise InvalidRecord(describe_validation_error(exc)) from None
    except (ValueError, RecursionError) as exc:
        raise InvalidRecord(f"alert: cannot be read ({_brief(exc)})") from None
