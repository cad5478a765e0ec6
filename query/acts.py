"""The acts the read model has read from the events topic, by id: each one's pair and day,
which ``POST /events`` checks a retraction or correction against (``ReadModel.act_of``).

They are kept for ``DIPWATCH_DEDUP_HORIZON_DAYS`` of event time behind the latest act read:
two years by default, some 16 million acts of GDELT's whole feed. So a week of acts, once
the latest act read is :data:`RECENT_DAYS` past its end, is **packed**: three arrays
sorted by the id's 64-bit digest (16 bytes an act, where a dict entry of the chart's guard
takes about 170), searched by bisection. A week wholly past the horizon is dropped. An act
that comes for a packed week (a late one) waits in a small dict of that week, which is
packed in with the rest once it holds a quarter as many.

A digest of 64 bits names one act of 16 million with odds of about one in a trillion of
naming another: a check against the wrong act's pair and day, at worst.
"""

from __future__ import annotations

import bisect
import hashlib
from array import array
from datetime import datetime
from typing import Final

from schemas.events import EPOCH

__all__ = ["RECENT_DAYS", "ActIndex"]

#: Days past a week's end after which its acts are packed (late ones are rare by then).
RECENT_DAYS: Final = 14
#: Late acts a packed week holds apart before they are packed in, at the least.
_LATE_KEPT: Final = 1024

#: An act as held before it is packed: its day (since EPOCH) and its pair's number.
Held = tuple[int, int]


def _digest(event_id: str) -> int:
    return int.from_bytes(
        hashlib.blake2b(event_id.encode(), digest_size=8).digest(), "big", signed=True
    )


class _Packed:
    """One week's acts, sorted by digest."""

    __slots__ = ("days", "digests", "dyads")

    def __init__(self, acts: dict[int, Held]) -> None:
        order = sorted(acts)
        self.digests = array("q", order)
        self.days = array("i", (acts[d][0] for d in order))
        self.dyads = array("I", (acts[d][1] for d in order))

    def __len__(self) -> int:
        return len(self.digests)

    def get(self, digest: int) -> Held | None:
        at = bisect.bisect_left(self.digests, digest)
        if at < len(self.digests) and self.digests[at] == digest:
            return self.days[at], self.dyads[at]
        return None

    def held(self) -> dict[int, Held]:
        return {d: (t, p) for d, t, p in zip(self.digests, self.days, self.dyads, strict=True)}


class ActIndex:
    """The pair and day of each act read, by id (see the module docstring)."""

    def __init__(self, horizon_days: int) -> None:
        self.horizon = horizon_days
        #: The latest day (since EPOCH) of an act read.
        self.latest: int | None = None
        self._dyads: list[str] = []
        self._numbers: dict[str, int] = {}
        #: Acts of weeks not packed yet, by week (days since EPOCH // 7) and digest.
        self._open: dict[int, dict[int, Held]] = {}
        self._packed: dict[int, _Packed] = {}
        #: Acts that came for a packed week, by week and digest.
        self._late: dict[int, dict[int, Held]] = {}

    def __len__(self) -> int:
        stores = (self._open, self._packed, self._late)
        return sum(len(acts) for store in stores for acts in store.values())

    def add(self, event_id: str, dyad: str, at: datetime) -> None:
        """Hold the act ``event_id`` of ``dyad`` at ``at``."""
        number = self._numbers.get(dyad)
        if number is None:
            number = self._numbers[dyad] = len(self._dyads)
            self._dyads.append(dyad)
        day = (at - EPOCH).days
        week = day // 7
        if self.latest is not None and day < self.latest - self.horizon:
            return  # past the horizon already
        packed = self._packed.get(week)
        if packed is None:
            self._open.setdefault(week, {})[_digest(event_id)] = (day, number)
        else:
            late = self._late.setdefault(week, {})
            late[_digest(event_id)] = (day, number)
            if len(late) > max(_LATE_KEPT, len(packed) // 4):
                self._packed[week] = _Packed({**packed.held(), **self._late.pop(week)})
        if self.latest is None or day > self.latest:
            self.latest = day
            self._age(day)

    def get(self, event_id: str) -> tuple[str, int] | None:
        """The pair and day (since EPOCH) of the act ``event_id``, if held."""
        found = self._find(_digest(event_id))
        if found is None or (self.latest is not None and found[0] < self.latest - self.horizon):
            return None
        return self._dyads[found[1]], found[0]

    def _find(self, digest: int) -> Held | None:
        for store in (self._open, self._late):
            for acts in store.values():
                if (held := acts.get(digest)) is not None:
                    return held
        for packed in self._packed.values():
            if (held := packed.get(digest)) is not None:
                return held
        return None

    def _age(self, latest: int) -> None:
        """Pack the weeks :data:`RECENT_DAYS` behind ``latest``; drop those past the horizon."""
        floor = latest - self.horizon
        for store in (self._open, self._packed, self._late):
            for week in [w for w in store if (w + 1) * 7 <= floor]:
                del store[week]
        for week in [w for w in self._open if (w + 1) * 7 <= latest - RECENT_DAYS]:
            self._packed[week] = _Packed(self._open.pop(week))
