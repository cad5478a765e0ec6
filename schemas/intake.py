"""Events that analysts add by hand: a JSON or YAML document, one event or many.

One validation for ``dipwatch publish FILE`` and ``POST /events``: every event is
checked before any is published, and each problem names the event (by its position) and
the field, so a whole batch is accepted or refused together.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import yaml

from schemas.codec import parse_event
from schemas.errors import InvalidRecord
from schemas.events import DiplomaticEvent, check_not_future

__all__ = ["FieldError", "IntakeRefused", "parse_document", "read_document", "validate_events"]


@dataclass(frozen=True)
class FieldError:
    """What is wrong with one field of one event (``index`` counts from 0)."""

    index: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"event {self.index}: {self.field}: {self.message}"


class IntakeRefused(InvalidRecord):
    """A document refused as a whole; ``errors`` lists every problem found."""

    def __init__(self, where: str, errors: list[FieldError]) -> None:
        shown = "; ".join(str(e) for e in errors[:20])
        more = f" (and {len(errors) - 20} more)" if len(errors) > 20 else ""
        super().__init__(f"{where}: {shown}{more}")
        self.errors = errors


def parse_document(text: str | bytes, *, yaml_allowed: bool = True) -> object:
    """Parse JSON, or YAML (a superset) when allowed; raise InvalidRecord saying where."""
    try:
        return json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        if not yaml_allowed:
            raise InvalidRecord(f"body: not JSON ({exc})") from None
    try:
        # safe_load builds plain data only; dates stay strings for pydantic to check.
        return yaml.load(text, Loader=_NoDatesLoader)
    except yaml.YAMLError as exc:
        raise InvalidRecord(f"document: neither JSON nor YAML ({exc})") from None


class _NoDatesLoader(yaml.SafeLoader):
    """SafeLoader without the timestamp resolver: "2022-10-05" is a string, as in JSON."""


_NoDatesLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def validate_events(
    data: object, where: str = "document", *, now: datetime | None = None
) -> list[DiplomaticEvent]:
    """Return the events of a parsed document (an event, a list of events, or
    ``{"events": [...]}``); raise :class:`IntakeRefused` listing every bad field. With
    ``now``, an event dated more than a day after it is refused, as the worker would."""
    if isinstance(data, dict) and set(data) == {"events"}:
        data = data["events"]
    items = data if isinstance(data, list) else [data]
    if not items:
        raise IntakeRefused(where, [FieldError(0, "events", "no events in the document")])
    events: list[DiplomaticEvent] = []
    errors: list[FieldError] = []
    for index, item in enumerate(items):
        try:
            event = parse_event(item)
        except InvalidRecord as exc:
            pairs = exc.fields or (("record", exc.reason),)
            errors.extend(FieldError(index, f, m) for f, m in pairs)
            continue
        if now is not None:
            try:
                check_not_future(event, now)
            except InvalidRecord as exc:
                errors.extend(FieldError(index, f, m) for f, m in exc.fields)
                continue
        events.append(event)
    if errors:
        raise IntakeRefused(where, errors)
    return events


def read_document(path: Path, *, now: datetime | None = None) -> list[DiplomaticEvent]:
    """Read and validate a JSON or YAML file of events (with ``now``: none in the future)."""
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise InvalidRecord(f"{path}: cannot read ({exc.strerror})") from None
    return validate_events(parse_document(text), str(path), now=now)
