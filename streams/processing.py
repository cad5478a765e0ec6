"""What the worker decides for each record, without Faust or a broker.

The Faust agent (streams/agents.py) only moves bytes: it hands each record of a batch to
:class:`Batch`, carries out the :class:`Outcome` (dead-letter, re-key, send alerts) and
writes the touched table values at the batch end. Everything in between — decode, the
log-time check, the dyad key, ticks, timers, dedup, lateness and the folds — is here and
in :class:`~folds.engine.Engine`, and is unit-tested without a broker.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

from folds.dyadlog import DyadLog, FoldFailed, TooLate
from folds.engine import Engine
from schemas.alerts import Alert
from schemas.codec import decode_event
from schemas.errors import InvalidRecord
from schemas.events import DiplomaticEvent, check_log_time
from schemas.ticks import TICK_KEY, parse_tick

__all__ = ["Batch", "Outcome", "Verdict", "watermark_key"]


def watermark_key(partition: int) -> str:
    """The timeline table's key holding a partition's watermark."""
    return f"~watermark/{partition}"


class Verdict(Enum):
    """What happens to a record."""

    FOLDED = "folded"  #: applied, a tick, or a duplicate
    DEAD_LETTER = "dead_letter"  #: invalid, or dated before its dyad's settled base
    REKEY = "rekey"  #: keyed by something other than its dyad: resend under the dyad


@dataclass(frozen=True)
class Outcome:
    """The decision for one record; ``reason`` is set for a dead letter."""

    verdict: Verdict
    event: DiplomaticEvent | None = None
    #: Every alert the record caused, in order: timers it let fire (in any dyad of its
    #: partition), withdrawals, then the alerts of the event itself.
    alerts: list[Alert] = field(default_factory=list)
    #: Why a folded record changed nothing ("" if it did).
    duplicate: str = ""
    reason: str = ""
    #: For a dead letter, the kind of fault (a metrics label): ``invalid``, ``log_time``,
    #: ``too_late``, ``fold_failed`` or ``unreadable``.
    kind: str = ""

    @property
    def dyad(self) -> str:
        assert self.event is not None
        return self.event.dyad


class Batch:
    """One batch of records: each record's outcome, and the values it touched.

    ``engine(partition)`` returns the partition's engine (kept by the agent across
    batches, restored from the tables after a rebalance); :meth:`writes` lists each
    touched dyad once, with its partition, for the write-back.
    """

    def __init__(self, engine: Callable[[int], Engine]) -> None:
        self.engine = engine
        self._engines: dict[int, Engine] = {}
        self._watermarks: dict[int, datetime | None] = {}

    def process(
        self,
        key: bytes | None,
        value: bytes | None,
        timestamp_s: float | None,
        partition: int = 0,
        offset: int | None = None,
    ) -> Outcome:
        """Decide what to do with one record of ``partition`` at ``offset``."""
        engine = self._engine(partition)
        if key == TICK_KEY:
            try:
                at = parse_tick(value)
            except InvalidRecord as exc:
                return Outcome(Verdict.DEAD_LETTER, reason=exc.reason, kind="invalid")
            return Outcome(Verdict.FOLDED, alerts=engine.settle_all(at))
        try:
            event = decode_event(value)
        except InvalidRecord as exc:
            return Outcome(Verdict.DEAD_LETTER, reason=exc.reason, kind="invalid")
        except Exception as exc:  # no record may stop the worker: set it aside, say why
            reason = f"record: unreadable ({exc!r:.300})"
            return Outcome(Verdict.DEAD_LETTER, reason=reason, kind="unreadable")
        try:
            check_log_time(event, timestamp_s)
        except InvalidRecord as exc:
            return Outcome(Verdict.DEAD_LETTER, event, reason=exc.reason, kind="log_time")
        if key != event.dyad.encode():
            return Outcome(Verdict.REKEY, event)
        alerts = engine.tick(event.occurred_at)
        try:
            change = engine.add(event, offset)
        except TooLate as exc:
            return Outcome(Verdict.DEAD_LETTER, event, alerts, reason=exc.reason, kind="too_late")
        except FoldFailed as exc:  # the record's fault as far as the worker can tell
            kind = "fold_failed"
            return Outcome(Verdict.DEAD_LETTER, event, alerts, reason=exc.reason, kind=kind)
        return Outcome(Verdict.FOLDED, event, [*alerts, *change.alerts], change.duplicate)

    def _engine(self, partition: int) -> Engine:
        if partition not in self._engines:
            engine = self._engines[partition] = self.engine(partition)
            self._watermarks[partition] = engine.timers.watermark
        return self._engines[partition]

    def writes(self) -> Iterator[tuple[int, str, DyadLog | dict[str, Any] | None]]:
        """Each touched dyad once, as (partition, key, value): the chunks of its
        retained events to store or delete (None: delete; folds/stored.py), then its log
        (the read model takes each fold's state from it), then each partition's watermark
        if it moved. A value goes to its partition's changelog partition."""
        for partition, engine in self._engines.items():
            for dyad in engine.written():
                log = engine.logs[dyad]
                # Its new events and its spent chunks (folds/stored.py), then the log.
                for key, chunk in log.stored.write_back(partition):
                    yield partition, key, chunk
                yield partition, dyad, log
            watermark = engine.timers.watermark
            if watermark is not None and watermark != self._watermarks[partition]:
                yield (
                    partition,
                    watermark_key(partition),
                    {"watermark": watermark.isoformat()},
                )
