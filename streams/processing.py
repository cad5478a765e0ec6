"""What the worker decides for each record, without Faust or a broker.

The Faust agent (streams/agents.py) only moves bytes: it hands each batch's records to
the fold process (streams/fold_process.py), which runs :class:`Batch` on each; the agent
carries out each :class:`Outcome` (dead-letter, re-key, send alerts) and, before each
offset commit, writes back the values that moved (:meth:`Partitions.writes`). Everything in
between — decode, the log-time check, the dyad key, ticks, timers, dedup, lateness and
the folds — is here and in :class:`~folds.engine.Engine`, and is unit-tested without a
broker.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

from folds.base import Fold
from folds.change import Crowded, SetAside
from folds.dyadlog import DyadLog, FoldFailed, TooLate
from folds.engine import Engine
from schemas.alerts import Alert
from schemas.codec import decode_event
from schemas.errors import InvalidRecord
from schemas.events import DiplomaticEvent, check_log_time
from schemas.ticks import TICK_KEY, parse_tick
from streams.restore import restore_engine

__all__ = ["Batch", "Outcome", "Partitions", "Verdict", "Write", "watermark_key"]

#: A value to write back: (partition, table key, value; None deletes the key).
Write = tuple[int, str, "DyadLog | dict[str, Any] | None"]


#: The dead letters' kinds (a metrics label) of what the dyad log refuses.
_KINDS: dict[type, str] = {TooLate: "too_late", Crowded: "crowded"}


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
    #: ``too_late``, ``crowded``, ``fold_failed`` or ``unreadable`` (``unmatched``: set aside).
    kind: str = ""
    #: Records folded earlier, found while this one was processed to have done nothing
    #: (in any dyad of its partition: folds/tombstones.py): dead-lettered too, as folded.
    set_aside: list[SetAside] = field(default_factory=list)

    @property
    def dyad(self) -> str:
        assert self.event is not None
        return self.event.dyad


class Partitions:
    """Each owned partition's engine, and what to write back of them.

    An engine is restored from the stored table ``items()`` on first use and kept across
    batches until :meth:`forget` (a rebalance: another worker may have folded the
    partition since). :meth:`writes` lists what moved since it was last called: a write
    per dyad touched since then, however many batches touched it, so the agent can write
    back as seldom as its commits (streams/agents.py).
    """

    def __init__(
        self,
        folds: Sequence[Fold[Any]],
        lateness_days: float,
        items: Callable[[], Iterable[tuple[str, Any]]],
    ) -> None:
        self.folds, self.lateness_days, self.items = folds, lateness_days, items
        self.engines: dict[int, Engine] = {}
        #: Each partition's watermark as last written (or as restored).
        self._watermarks: dict[int, datetime | None] = {}

    def __call__(self, partition: int) -> Engine:
        if partition not in self.engines:
            engine = restore_engine(self.folds, self.lateness_days, partition, self.items())
            self.engines[partition] = engine
            self._watermarks[partition] = engine.timers.watermark
        return self.engines[partition]

    def forget(self) -> None:
        """Drop every engine (they are restored from the table on next use)."""
        self.engines.clear()
        self._watermarks.clear()

    def writes(self) -> list[Write]:
        """Each dyad whose value moved since the last call, once, as (partition, key,
        value): the new chunks of its retained events (folds/stored.py), its log (the
        read model takes each fold's state from it), then the chunks it no longer lists
        (None: delete); then each partition's watermark if it moved. A value goes to its
        partition's changelog partition. Made in one go, with no await: a consistent cut.

        A worker that stops in the middle of a write-back leaves a prefix of it (per
        partition, in order): the order makes every prefix restore. A chunk is listed
        only once written, deleted only once no longer listed, and the watermark comes
        after the dyads (tests/unit/test_stored.py)."""
        out: list[Write] = []
        for partition, engine in self.engines.items():
            for dyad in engine.written():
                log = engine.logs[dyad]
                stored = log.stored.write_back(partition)
                out.extend((partition, key, chunk) for key, chunk in stored if chunk is not None)
                out.append((partition, dyad, log))
                out.extend((partition, key, None) for key, chunk in stored if chunk is None)
            watermark = engine.timers.watermark
            if watermark is not None and watermark != self._watermarks.get(partition):
                out.append(
                    (partition, watermark_key(partition), {"watermark": watermark.isoformat()})
                )
                self._watermarks[partition] = watermark
        return out


class Batch:
    """One batch of records: each record's outcome. ``engine(partition)`` returns the
    partition's engine (:class:`Partitions`), which the batch folds into."""

    def __init__(self, engine: Callable[[int], Engine]) -> None:
        self.engine = engine
        self._engines: dict[int, Engine] = {}

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
            alerts = engine.settle_all(at)
            return Outcome(Verdict.FOLDED, alerts=alerts, set_aside=engine.set_aside())
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
        except (TooLate, Crowded, FoldFailed) as exc:  # the record's fault, as far as we know
            kind = _KINDS.get(type(exc), "fold_failed")
            set_aside = engine.set_aside()
            return Outcome(Verdict.DEAD_LETTER, event, alerts, "", exc.reason, kind, set_aside)
        alerts.extend(change.alerts)
        return Outcome(
            Verdict.FOLDED, event, alerts, change.duplicate, set_aside=engine.set_aside()
        )

    def _engine(self, partition: int) -> Engine:
        if partition not in self._engines:
            self._engines[partition] = self.engine(partition)
        return self._engines[partition]
