"""Where a dyad log keeps its retained events: apart from its value, in chunks.

A dyad log's value (its head and base states, standing alerts) is written back at every
batch that touches the dyad. Its retained events — all of the allowed lateness, for a
busy pair of a live GDELT feed thousands of acts, megabytes — are not all in it: the
value holds the events not yet stored apart, up to ``SPILL_BYTES`` of JSON; past that, a
write-back stores them as a **chunk** under the key ``<dyad>#<n>`` of the same table (so
in the same changelog partition), and a chunk is deleted (a tombstone) once none of its
events is retained any more (settled behind the lateness, retracted or corrected). So a
quiet pair's events never leave its value, a busy pair's write costs about what its
batches brought, not all it retains, and no record grows with a pair's activity: a
chunk holds at most ``CHUNK_BYTES`` of events (one event is at most 256 KiB).

The value lists its chunks; a restore reads those and keeps the events of them that are
still retained (dated at or after the base, not retracted). A chunk written by a worker
that died before the value naming it was written is not listed, and is overwritten by
the next chunk of the same number.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Final

import orjson

from schemas.events import DiplomaticEvent

__all__ = ["CHUNK_BYTES", "SPILL_BYTES", "Stored", "is_chunk_key", "stored_events"]

#: The most event JSON one chunk carries (Apache Kafka's default record limit is 1 MiB).
CHUNK_BYTES: Final = 256 * 1024
#: Retained events stay in the value itself until their JSON passes this; then they go
#: to a chunk. So a quiet pair's events settle without ever being written apart (no
#: chunk, no tombstone), and a value carries at most this much of them.
SPILL_BYTES: Final = 32 * 1024


def is_chunk_key(key: str) -> bool:
    """Whether a timeline-table key names a chunk of retained events."""
    return "#" in key


def chunk_number(key: str) -> int | None:
    """The number of chunk ``key`` (``<dyad>#<n>``); None if it has none."""
    number = key.rpartition("#")[2]
    return int(number) if number.isdigit() else None


def stored_events(
    value: dict[str, Any], chunks: Mapping[str, Any]
) -> Iterator[tuple[str, DiplomaticEvent]]:
    """The events a dyad log's value stores, as (chunk key, event): those of each chunk
    it lists (``chunks``: the table's values by key; one missing raises KeyError), then
    those it holds itself (key ""). Each event as stored: a JSON object; text in values
    stored before session 7; an orjson fragment in a value this process wrote and holds
    in memory (a Faust table keeps the objects it was given), or the value's events as
    one array, a fragment, in a value dumped in this process (:meth:`Stored.pending_json`)."""
    for key, raws in [
        *((k, chunks[k]["events"]) for k in value.get("chunks", [])),
        ("", value["events"]),
    ]:
        for raw in _parsed(raws) if isinstance(raws, orjson.Fragment) else raws:
            yield (
                key,
                DiplomaticEvent.model_validate(_parsed(raw)),
            )


def _parsed(raw: Any) -> Any:
    if isinstance(raw, str):
        return orjson.loads(raw)
    if isinstance(raw, orjson.Fragment):
        return orjson.loads(orjson.dumps(raw))
    return raw


class Stored:
    """Which retained events are in which chunk, and what the next write-back stores."""

    def __init__(self, dyad: str) -> None:
        self.dyad = dyad
        self.seq = 0  #: the number of the last chunk made
        self._chunk_of: dict[str, str] = {}  # event id -> chunk key
        self._live: dict[str, set[str]] = {}  # chunk key -> ids in it still retained
        #: Retained events not in a chunk (held in the value), in arrival order.
        self.pending: dict[str, DiplomaticEvent] = {}
        self._json: dict[str, bytes] = {}  # their JSON, made once
        #: Their JSON as one array and its events' total size, made once per change.
        self._joined: tuple[orjson.Fragment, int] | None = None
        self._gone: list[str] = []  # chunks to delete at the next write-back

    @property
    def chunks(self) -> list[str]:
        """The chunks holding retained events, in the order they were made (a dict keeps
        insertion order: a load enters the listed ones in their order, then new ones
        follow with higher numbers)."""
        return list(self._live)

    def added(self, event: DiplomaticEvent) -> None:
        self.pending[event.event_id] = event
        self._joined = None

    def dropped(self, event_id: str) -> None:
        """``event_id`` is retained no more (settled, retracted or corrected)."""
        if self.pending.pop(event_id, None) is not None:
            self._json.pop(event_id, None)
            self._joined = None
            return
        key = self._chunk_of.pop(event_id, None)
        if key is None:
            return
        live = self._live[key]
        live.discard(event_id)
        if not live:
            del self._live[key]
            self._gone.append(key)

    def copy(self) -> Stored:
        """A copy to restore if a re-fold fails (all or nothing)."""
        new = Stored(self.dyad)
        new.seq, new._chunk_of, new._gone = self.seq, dict(self._chunk_of), list(self._gone)
        new._live = {k: set(v) for k, v in self._live.items()}
        new.pending, new._json = dict(self.pending), dict(self._json)
        return new

    def restore(self, seq: int, chunks: dict[str, list[str]], retained: set[str]) -> None:
        """After a load: ``chunks`` (key -> event ids) as stored, of which ``retained``
        are still retained; every other retained event is pending."""
        self.seq = max(self.seq, seq)
        for key, ids in chunks.items():
            live = {i for i in ids if i in retained}
            if live:
                self._live[key] = live
                self._chunk_of.update(dict.fromkeys(live, key))
            else:
                self._gone.append(key)
        self.pending = {i: e for i, e in self.pending.items() if i not in self._chunk_of}
        self._json, self._joined = {}, None

    def lists(self, key: str) -> bool:
        """Whether chunk ``key`` is this dyad's: listed, or to be deleted."""
        return key in self._live or key in self._gone

    def orphaned(self, key: str, number: int) -> None:
        """Chunk ``key`` of this dyad is stored but listed by no value: written by a
        worker that stopped before the value listing it. Delete it at the next
        write-back, and number new chunks past it (the deletions come after the value,
        so a new chunk of its ``number`` would be deleted with it)."""
        self._gone.append(key)
        self.seq = max(self.seq, number)

    def json_of(self, event_id: str) -> bytes:
        """The JSON of a pending event, as it is stored, made once."""
        made = self._json.get(event_id)
        if made is None:
            made = self._json[event_id] = (
                self.pending[event_id].model_dump_json(exclude_defaults=True).encode()
            )
        return made

    def pending_json(self) -> tuple[orjson.Fragment, int]:
        """The pending events as one JSON array (what the value holds) and the size of
        their JSON, made once per change: a busy pair's value is written at every batch
        that touches it, its pending events mostly the same as last time."""
        if self._joined is None:
            made = [self.json_of(i) for i in self.pending]
            array = orjson.Fragment(b"[" + b",".join(made) + b"]")
            self._joined = array, sum(map(len, made))
        return self._joined

    def write_back(self, partition: int) -> list[tuple[str, dict[str, Any] | None]]:
        """The table writes that store what changed since the last write-back: a
        tombstone (None) per chunk no longer needed, then — once the pending events'
        JSON passes ``SPILL_BYTES`` — those events in new chunks of at most
        ``CHUNK_BYTES`` each."""
        out: list[tuple[str, dict[str, Any] | None]] = [(k, None) for k in self._gone]
        self._gone = []
        if self.pending_json()[1] < SPILL_BYTES:
            return out  # they stay in the value
        made = [(i, self.json_of(i)) for i in self.pending]
        chunk: list[tuple[str, bytes]] = []
        size = 0
        for event_id, event_made in made:
            if chunk and size + len(event_made) > CHUNK_BYTES:
                out.append(self._chunk(chunk, partition))
                chunk, size = [], 0
            chunk.append((event_id, event_made))
            size += len(event_made)
        if chunk:
            out.append(self._chunk(chunk, partition))
        self.pending, self._json, self._joined = {}, {}, None
        return out

    def _chunk(self, events: list[tuple[str, bytes]], partition: int) -> tuple[str, dict[str, Any]]:
        self.seq += 1
        key = f"{self.dyad}#{self.seq}"
        self._live[key] = {i for i, _ in events}
        self._chunk_of.update((i, key) for i, _ in events)
        value = {
            "dyad": self.dyad,
            "partition": partition,
            "events": [orjson.Fragment(made) for _, made in events],
        }
        return key, value
