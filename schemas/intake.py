"""Events that analysts add by hand: a JSON or YAML document, one event or many.

One validation for ``dipwatch publish FILE`` and ``POST /events``: every event is
checked before any is published, and each problem names the event (by its position) and
the field, so a whole batch is accepted or refused together.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final

import yaml

from schemas.codec import MAX_RECORD_BYTES, encode_event, parse_event
from schemas.errors import InvalidRecord
from schemas.events import (
    ALLOWED_LATENESS_DAYS,
    DiplomaticEvent,
    check_not_future,
    check_replaces,
)

__all__ = [
    "MAX_EVENTS_PER_DOCUMENT",
    "FieldError",
    "IntakeRefused",
    "parse_document",
    "read_document",
    "validate_events",
]


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


#: Events one document (a file for ``publish``, a body for ``POST /events``) may hold.
MAX_EVENTS_PER_DOCUMENT: Final = 1000


def parse_document(text: str | bytes, *, yaml_allowed: bool = True) -> object:
    """Parse JSON, or YAML (a superset) when allowed; raise InvalidRecord saying where.

    Refused: YAML aliases (a 1 MB "billion laughs" document expands to millions of
    events), and nesting deeper than the interpreter's stack, in either syntax."""
    try:
        return json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        if not yaml_allowed:
            raise InvalidRecord(f"body: not JSON ({exc})") from None
    except (ValueError, RecursionError) as exc:
        raise InvalidRecord(f"document: JSON beyond this reader's limits ({exc!s:.200})") from None
    try:
        # Plain data only; dates stay strings for pydantic to check; no aliases.
        return yaml.load(text, Loader=_PlainLoader)
    except yaml.YAMLError as exc:
        raise InvalidRecord(f"document: neither JSON nor YAML ({exc})") from None
    except (ValueError, RecursionError) as exc:
        raise InvalidRecord(f"document: YAML beyond this reader's limits ({exc!s:.200})") from None


class _PlainLoader(yaml.SafeLoader):
    """SafeLoader without the timestamp resolver ("2022-10-05" is a string, as in JSON)
    and without aliases (each node is written out once: no expansion bombs)."""

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
            raise yaml.composer.ComposerError(
                None, None, "aliases are not accepted in event documents", mark
            )
        return super().compose_node(parent, index)


_PlainLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def validate_events(
    data: object,
    where: str = "document",
    *,
    now: datetime | None = None,
    lateness_days: float = ALLOWED_LATENESS_DAYS,
) -> list[DiplomaticEvent]:
    """Return the events of a parsed document (an event, a list of events, or
    ``{"events": [...]}``); raise :class:`IntakeRefused` listing every bad field. With
    ``now``, an event dated more than a day after it is refused, as the worker would; a
    retraction or correction of an act of the document that the worker could not put
    in its place is refused (``check_replaces``, with the worker's ``lateness_days``)."""
    if isinstance(data, dict) and set(data) == {"events"}:
        data = data["events"]
    items = data if isinstance(data, list) else [data]
    if not items:
        raise IntakeRefused(where, [FieldError(0, "events", "no events in the document")])
    if len(items) > MAX_EVENTS_PER_DOCUMENT:
        raise IntakeRefused(
            where,
            [
                FieldError(
                    0,
                    "events",
                    f"{len(items)} events; at most {MAX_EVENTS_PER_DOCUMENT} per document",
                )
            ],
        )
    errors: list[FieldError] = []
    indexed: list[tuple[int, DiplomaticEvent]] = []  # the valid events, by position
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
        problem = _publishable(event, (e for _, e in indexed))
        if problem is not None:
            errors.append(FieldError(index, *problem))
            continue
        indexed.append((index, event))
    errors.extend(_misplaced(indexed, lateness_days))
    if errors:
        raise IntakeRefused(where, sorted(errors, key=lambda e: e.index))
    return [event for _, event in indexed]


def _misplaced(
    indexed: list[tuple[int, DiplomaticEvent]], lateness_days: float
) -> list[FieldError]:
    """Each retraction or correction of an act of the same document that the worker
    could not put in its act's place (``check_replaces``), wherever the act is."""
    acts = {event.event_id: event for _, event in indexed}
    errors: list[FieldError] = []
    for index, event in indexed:
        act = acts.get(event.retracts or event.corrects or "")
        if act is None:
            continue
        try:
            check_replaces(event, act.dyad, act.occurred_at, lateness_days)
        except InvalidRecord as exc:
            errors.extend(FieldError(index, f, m) for f, m in exc.fields)
    return errors


def _publishable(
    event: DiplomaticEvent, earlier: Iterable[DiplomaticEvent]
) -> tuple[str, str] | None:
    """Why ``event`` cannot be published with ``earlier`` ones, as (field, message)."""
    size = len(encode_event(event))
    if size > MAX_RECORD_BYTES:
        return "record", f"{size} bytes encoded; the events topic takes {MAX_RECORD_BYTES}"
    for other in earlier:
        if other.event_id == event.event_id and other.content_digest() != event.content_digest():
            return "event_id", f"{event.event_id!r} is used twice with different content"
    return None


def read_document(
    path: Path, *, now: datetime | None = None, lateness_days: float = ALLOWED_LATENESS_DAYS
) -> list[DiplomaticEvent]:
    """Read and validate a JSON or YAML file of events (with ``now``: none in the future)."""
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise InvalidRecord(f"{path}: cannot read ({exc.strerror})") from None
    return validate_events(parse_document(text), str(path), now=now, lateness_days=lateness_days)
