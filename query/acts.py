"""The acts the read model has read from the events topic, by id: each one's pair and day,
which ``POST /events`` checks a retraction or correction against (``ReadModel.act_of``).

They are kept for ``DIPWATCH_DEDUP_HORIZON_DAYS`` of event time behind their pair's latest
act: two years by default, some 16 million acts of GDELT's whole feed. So a week of acts,
once the latest act read is :data:`RECENT_DAYS` past its end, is **packed**: three arrays
sorted by the id's 64-bit digest (16 bytes an act, where a dict entry of the chart's guard
takes about 170), searched by bisection. An act that comes for a packed week (a late one)
waits in a small dict of that week, which is packed in with the rest once it holds a
quarter as many. A week the horizon has passed (behind the latest act read) is dropped,
but for the acts of pairs quiet since, still within their own pair's horizon: those are
kept in a dict of their own until their pair moves on.

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
        #: The latest day of an act read of each pair (by its number).
        self._latest: list[int] = []
        #: Acts of weeks not packed yet, by week (days since EPOCH // 7) and digest.
        self._open: dict[int, dict[int, Held]] = {}
        self._packed: dict[int, _Packed] = {}
        #: Acts that came for a packed week, by week and digest.
        self._late: dict[int, dict[int, Held]] = {}
        #: Acts of weeks dropped, of pairs quiet since (within their horizon), by digest.
        self._quiet: dict[int, Held] = {}

    def __len__(self) -> int:
        stores = (self._open, self._packed, self._late)
        return sum(len(acts) for store in stores for acts in store.values()) + len(self._quiet)

    def add(self, event_id: str, dyad: str, at: datetime) -> None:
        """Hold the act ``event_id`` of ``dyad`` at ``at``."""
        day = (at - EPOCH).days
        number = self._numbers.get(dyad)
        if number is None:
            number = self._numbers[dyad] = len(self._dyads)
            self._dyads.append(dyad)
            self._latest.append(day)
        elif day < self._latest[number] - self.horizon:
            return  # past its pair's horizon already
        self._latest[number] = max(self._latest[number], day)
        week = day // 7
        packed, latest = self._packed.get(week), self.latest
        if latest is not None and (week + 1) * 7 <= latest - self.horizon:
            self._quiet[_digest(event_id)] = (day, number)  # a week dropped already
        elif week in self._open or latest is None or (week + 1) * 7 > latest - RECENT_DAYS:
            self._open.setdefault(week, {})[_digest(event_id)] = (day, number)
        else:  # a week packed, or old enough to be
            late = self._late.setdefault(week, {})
            late[_digest(event_id)] = (day, number)
            if len(late) > max(_LATE_KEPT, len(packed or ()) // 4):
                earlier = packed.held() if packed is not None else {}
                self._packed[week] = _Packed({**earlier, **self._late.pop(week)})
        if self.latest is None or day > self.latest:
            self.latest = day
            self._age(day)

    def get(self, event_id: str) -> tuple[str, int] | None:
        """The pair and day (since EPOCH) of the act ``event_id``, if held."""
        found = self._find(_digest(event_id))
        if found is None or found[0] < self._latest[found[1]] - self.horizon:
            return None
        return self._dyads[found[1]], found[0]

    def _find(self, digest: int) -> Held | None:
        for store in (self._open, self._late, {0: self._quiet}):
            for acts in store.values():
                if (held := acts.get(digest)) is not None:
                    return held
        for packed in self._packed.values():
            if (held := packed.get(digest)) is not None:
                return held
        return None

    def _age(self, latest: int) -> None:
        """Pack the weeks :data:`RECENT_DAYS` behind ``latest``; drop those past the
        horizon, but for the acts of pairs quiet since (kept in :attr:`_quiet`)."""
        floor, kept = latest - self.horizon, self._kept
        for store in (self._open, self._packed, self._late):
            for week in [w for w in store if (w + 1) * 7 <= floor]:
                gone = store.pop(week)
                acts = gone.held() if isinstance(gone, _Packed) else gone
                self._quiet.update((d, held) for d, held in acts.items() if kept(held))
        if self._quiet:
            self._quiet = {d: held for d, held in self._quiet.items() if kept(held)}
        for week in [w for w in self._open if (w + 1) * 7 <= latest - RECENT_DAYS]:
            self._packed[week] = _Packed(self._open.pop(week))

    def _kept(self, held: Held) -> bool:
        """Whether an act is within its pair's horizon."""
        return held[0] >= self._latest[held[1]] - self.horizon
