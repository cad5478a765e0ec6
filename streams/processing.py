"""What the worker decides for each record, without Faust or a broker.

The Faust agent (streams/agents.py) only moves bytes: it hands each record of a batch to
:class:`Batch`, carries out the :class:`Outcome` (dead-letter, re-key, send alerts) and
writes the touched table values at the batch end. Everything in between — decode, the
log-time check, the dyad key, dedup, the horizon and the folds — is here and in
:func:`~folds.pipeline.apply_all`, and is unit-tested without a broker.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, Generic, TypeVar

from pydantic import ValidationError

from folds.base import Fold
from folds.guard import Guarded, TooLate
from folds.pipeline import Folded, FoldFailed, TableValue, apply_all
from schemas.codec import decode_event
from schemas.errors import InvalidRecord
from schemas.events import DiplomaticEvent, check_log_time

__all__ = ["Batch", "Outcome", "Verdict"]

#: Whatever the agent needs to write a value back (Faust's event of the record).
R = TypeVar("R")


class Verdict(Enum):
    """What happens to a record."""

    FOLDED = "folded"  #: applied (or a duplicate every fold had seen)
    DEAD_LETTER = "dead_letter"  #: invalid, or behind the dedup horizon
    REKEY = "rekey"  #: keyed by something other than its dyad: resend under the dyad


@dataclass(frozen=True)
class Outcome:
    """The decision for one record; ``reason`` is set for a dead letter."""

    verdict: Verdict
    event: DiplomaticEvent | None = None
    folded: Folded | None = None
    reason: str = ""
    #: For a dead letter, the kind of fault (a metrics label): ``invalid``, ``log_time``,
    #: ``too_late``, ``fold_failed`` or ``unreadable``.
    kind: str = ""

    @property
    def dyad(self) -> str:
        assert self.event is not None
        return self.event.dyad


class Batch(Generic[R]):
    """One batch of records: each record's outcome, and the table values it touched.

    ``read(aggregate, dyad)`` returns the stored table value; values touched earlier in
    the batch are read from the batch itself, so a dyad costs one write per batch.
    """

    def __init__(
        self,
        folds: Sequence[Fold[Any]],
        read: Callable[[str, str], TableValue],
        horizon_days: int,
    ) -> None:
        self.folds = folds
        self.read = read
        self.horizon_days = horizon_days
        self._pending: dict[tuple[str, str], tuple[Guarded[Any], R]] = {}
        #: Stored values that could not be read back, as (aggregate, dyad, reason): the
        #: dyad starts afresh in that aggregate rather than stop the worker.
        self.discarded: list[tuple[str, str, str]] = []
        self._folds = {f.name: f for f in folds}

    def process(
        self, key: bytes | None, value: bytes | None, timestamp_s: float | None, record: R
    ) -> Outcome:
        """Decide what to do with one record (``record`` is kept for the write-back)."""
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
        dyad = event.dyad
        if key != dyad.encode():
            return Outcome(Verdict.REKEY, event)
        values = {f.name: self._value(f.name, dyad) for f in self.folds}
        try:
            folded = apply_all(self.folds, values, event, self.horizon_days)
        except TooLate as exc:
            return Outcome(Verdict.DEAD_LETTER, event, reason=exc.reason, kind="too_late")
        except FoldFailed as exc:  # the record's fault as far as the worker can tell
            return Outcome(Verdict.DEAD_LETTER, event, reason=exc.reason, kind="fold_failed")
        for name, guard in folded.updated.items():
            self._pending[(name, dyad)] = (guard, record)
        return Outcome(Verdict.FOLDED, event, folded)

    def _value(self, name: str, dyad: str) -> TableValue:
        pending = self._pending.get((name, dyad))
        if pending is not None:
            return pending[0]
        value = self.read(name, dyad)
        if value is None or isinstance(value, Guarded):
            return value
        try:
            return Guarded.of(self._folds[name], dyad, value, self.horizon_days)
        except (ValidationError, KeyError, TypeError, ValueError) as exc:
            self.discarded.append((name, dyad, f"{type(exc).__name__}: {exc!s:.200}"))
            return None

    def writes(self) -> Iterator[tuple[str, str, Guarded[Any], R]]:
        """Each touched (aggregate, dyad) once: its value and the last record touching it."""
        for (name, dyad), (guard, record) in self._pending.items():
            yield name, dyad, guard, record
