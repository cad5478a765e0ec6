"""Each partition's offsets as delivered to the agent: a record skipped is caught before
anything past it is folded or committed.

Faust resumes a partition's stream before the seek to its committed offset that ends a
rebalance's recovery has finished (``faust/tables/recovery.py``), and its consumer's
read-offset bookkeeping then races with that seek: now and then one record is never
delivered, and the jump over it is booked as a gap, so the next commit passes it. (The
race of faust-streaming issue #216; its fix, PR #217, ordered the path without tables,
and with tables the flow already runs for the changelog recovery.) Seen as one event
missing from a pair's state after a restart (``tests/integration/test_recovery.py``,
about one run in eight, session 13), traced in session 14 to a partition delivered as
967, 969.

The events topic is written without transactions (the replay, the importers), so a
partition's offsets have no holes: a record delivered past the next offset expected
means records were skipped. The worker then stops without committing and is restarted,
to read again from its last commit (streams/agents.py). A redelivery (an offset at or
below one seen) is no fault: the fold skips what it already folded. (Since session 15
the recovery seeks before it resumes, streams/seek_first.py, and no skip was seen in 12
runs of that test; the check stays, for any other way a consumer may skip.)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

__all__ = ["Continuity"]


class Continuity:
    """The next offset expected per partition, from the records delivered so far."""

    def __init__(self) -> None:
        self._next: dict[int, int] = {}
        #: Whether each partition's start is known (:meth:`expect`) since the last reset.
        self.seeded = False

    def reset(self) -> None:
        """A rebalance: each partition restarts from its committed offset, which may be
        past what this worker saw (another member folded it meanwhile)."""
        self._next.clear()
        self.seeded = False

    def expect(self, starts: Mapping[int, int]) -> None:
        """Each partition's first offset after a reset (its committed offset): the first
        record delivered may come before it (a redelivery), never after it. (Faust can
        drop the records fetched while it recovers its tables and book the jump to the
        first one it delivers as a gap: seen in session 14, a restart delivering a
        partition from offset 76 where its commit was 12.)"""
        for partition, offset in starts.items():
            self._next[partition] = max(offset, self._next.get(partition, offset))
        self.seeded = True

    def skipped(self, delivered: Iterable[tuple[int, int]]) -> str | None:
        """Note a batch's ``(partition, offset)`` pairs, in delivery order; return what was
        skipped (the worker must not fold on), or None."""
        expected = self._next
        for partition, offset in delivered:
            next_offset = expected.get(partition)
            if next_offset is not None and offset > next_offset:
                return (
                    f"partition {partition}: offset {offset} delivered after {next_offset - 1};"
                    f" offsets {next_offset}..{offset - 1} were skipped"
                )
            if next_offset is None or offset >= next_offset:
                expected[partition] = offset + 1
        return None
