"""Tick records: "event time has reached ``at`` in this partition".

A tick travels on the events topic with the key ``~tick`` (never a dyad) to one
partition. The replay sends one to every partition at its end, the live GDELT feed after
every file: a partition with no events of its own still moves on, so its quiet dyads'
timers fire (a level that decays to calm, a summons that lapses). Being records of the
log, ticks keep state and alerts a function of the log alone.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Final

from schemas.errors import InvalidRecord

__all__ = ["TICK_KEY", "parse_tick", "tick_value"]

TICK_KEY: Final = b"~tick"


def tick_value(at: datetime) -> bytes:
    """The value of a tick record for event time ``at`` (timezone-aware)."""
    if at.tzinfo is None:
        raise ValueError("a tick needs a timezone-aware time")
    return json.dumps({"tick": at.isoformat()}).encode()


def parse_tick(value: bytes | None) -> datetime:
    """The event time a tick record carries; :class:`InvalidRecord` says what is wrong."""
    try:
        data = json.loads(value or b"")
        at = datetime.fromisoformat(data["tick"])
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidRecord(f'tick: expected {{"tick": <ISO 8601 time>}} ({exc!r:.200})') from None
    if at.tzinfo is None:
        raise InvalidRecord("tick: the time needs a UTC offset")
    return at
