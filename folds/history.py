"""Weekly conflict history of a dyad, for charts: a projection, not an aggregate.

It is folded by the query side from the events topic (with the same dedup guard as the
aggregates), so the tension state — and every changelog write of it — does not carry
years of chart data.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

from pydantic import Field

from folds.base import NoTimers, StateModel
from folds.decay import UNITS_PER_POINT
from folds.tension import TensionConfig
from schemas.alerts import Alert
from schemas.events import EPOCH, DiplomaticEvent

__all__ = ["ConflictHistory", "HistoryState"]

_WEEK: Final = timedelta(days=7)


class HistoryState(StateModel):
    """Per week (index since EPOCH, a Monday), the conflict weight of that week's events
    decayed to the week's end, in integer micro-points: integer sums of per-event terms,
    so as order-free as the tension scores."""

    dyad: str
    weeks: dict[int, int] = Field(default_factory=dict)


#: Below this score (points) a decaying curve is not sampled further.
_FLOOR: Final = 0.05


class ConflictHistory(NoTimers):
    """Folds events into weekly conflict sums: ``apply(state, event) -> (state, [])``."""

    name = "history"
    state_type = HistoryState

    def __init__(self, config: TensionConfig | None = None, weeks_kept: int = 260) -> None:
        self.config = config or TensionConfig()
        #: The latest weeks kept per dyad (about 5 years).
        self.weeks_kept = weeks_kept

    def initial(self, key: str) -> HistoryState:
        """Return the history of a dyad with no events."""
        return HistoryState(dyad=key)

    def apply(
        self, state: HistoryState, event: DiplomaticEvent
    ) -> tuple[HistoryState, list[Alert]]:
        """Add the event's conflict weight to its week; raises no alerts."""
        return self.with_term(state, self.term(event)), []

    def with_term(self, state: HistoryState, term: tuple[int, int] | None) -> HistoryState:
        """``state`` with ``term`` (:meth:`term`) added to its week."""
        if term is None:
            return state
        week, units = term
        weeks = dict(state.weeks)
        weeks[week] = weeks.get(week, 0) + units
        if len(weeks) > self.weeks_kept:
            for old in sorted(weeks)[: len(weeks) - self.weeks_kept]:
                del weeks[old]
        return state.evolve({"weeks": weeks})

    def term(self, event: DiplomaticEvent) -> tuple[int, int] | None:
        """What ``event`` adds to the history: (week, units); None for an act that is
        not conflict, or a retraction (it withdraws an act, it is none)."""
        w = self.config.weight(event)
        if w >= 0 or event.retracts is not None:
            return None
        at = event.occurred_at
        week = (at - EPOCH) // _WEEK
        age_days = (EPOCH + (week + 1) * _WEEK - at).total_seconds() / 86_400
        return week, round(-w * UNITS_PER_POINT * 2.0 ** (-age_days / self.config.half_life_days))

    def take_back(self, state: HistoryState, day: int, units: int) -> HistoryState:
        """``state`` without the act of ``day`` (days since EPOCH) that added ``units``
        (:meth:`term`'s): as if it had never come (a week left with nothing is gone; one
        no longer kept stays gone). Its week is the day's: EPOCH is a Monday."""
        week = day // 7
        if week not in state.weeks:
            return state
        weeks = dict(state.weeks)
        weeks[week] -= units
        if not weeks[week]:
            del weeks[week]
        return state.evolve({"weeks": weeks})

    def points(
        self, state: HistoryState, until: datetime | None = None
    ) -> list[tuple[datetime, float]]:
        """Return (moment, conflict score) sampled in event time: at the end of each week
        with events and, between them and on to ``until``, at every week's end while the
        score decays (down to ``_FLOOR`` points), so a chart draws the decay curve rather
        than straight lines across quiet months."""
        weeks = sorted(state.weeks)
        if not weeks:
            return []
        last_week = weeks[-1]
        if until is not None:
            last_week = max(last_week, (until - EPOCH) // _WEEK - 1)
        points: list[tuple[datetime, float]] = []
        total, at = 0.0, weeks[0]
        upcoming = iter([*weeks[1:], None])
        nxt = next(upcoming)
        total = state.weeks[at] / UNITS_PER_POINT
        points.append((EPOCH + (at + 1) * _WEEK, round(total, 3)))
        decay = 2.0 ** (-7 / self.config.half_life_days)
        while at < last_week:
            if total < _FLOOR and nxt is not None and nxt - 1 > at:  # flat: jump ahead
                total *= decay ** (nxt - 1 - at)
                at = nxt - 1
                points.append((EPOCH + (at + 1) * _WEEK, round(total, 3)))
            elif total < _FLOOR and nxt is None:  # flat to the end: one point there
                total *= decay ** (last_week - at)
                points.append((EPOCH + (last_week + 1) * _WEEK, round(total, 3)))
                break
            at += 1
            total *= decay
            if at == nxt:
                total += state.weeks[at] / UNITS_PER_POINT
                nxt = next(upcoming)
            points.append((EPOCH + (at + 1) * _WEEK, round(total, 3)))
        return points
