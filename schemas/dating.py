"""When an act happened, as precisely as the sources say: instants within the contract's
bounds and windows of them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Final, Self

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, model_validator

__all__ = ["EPOCH", "LATEST", "UtcDatetime", "Window", "month_window", "year_window"]

#: The project's one epoch: the earliest time a record may carry, day 0 of the dedup
#: clock and the origin of the decay sums (before it exact sums would need huge integers;
#: no source needs it).
EPOCH: Final = datetime(1900, 1, 1, tzinfo=UTC)
#: No record is dated at or after this: a bound for every date of the contract (the
#: intake entries also refuse anything after their clock + FUTURE_TOLERANCE), so the
#: folds' exact decay sums stay within bounds (see folds/decay.py).
LATEST: Final = datetime(2200, 1, 1, tzinfo=UTC)


def _utc(value: datetime) -> datetime:
    # In UTC first: comparing instants that carry different tzinfo objects (pydantic's
    # parsed "Z" against datetime.UTC) asks each for its offset, twice as slow.
    utc = value if value.tzinfo is UTC else value.astimezone(UTC)
    if utc < EPOCH:
        raise ValueError(f"{value.isoformat()} is before {EPOCH.date()}")
    if utc >= LATEST:
        raise ValueError(f"{value.isoformat()} is not before {LATEST.date()}")
    return utc


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_utc)]


class Window(BaseModel):
    """When the act happened, as far as the sources tell: between two instants (inclusive)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    earliest: UtcDatetime
    latest: UtcDatetime

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.latest < self.earliest:
            raise ValueError("latest is before earliest")
        return self

    def label(self) -> str:
        """The window as precisely as it is known: ``2022-10-05``, ``2022-10``, ``2022``
        or ``2022-10-05…2025-08-10``; never a day the window does not pin."""
        a, b = self.earliest.date(), self.latest.date()
        if a == b:
            return a.isoformat()
        if (a.day, b.year, b.month) == (1, a.year, a.month) and (b + timedelta(days=1)).day == 1:
            return f"{a.year:04d}-{a.month:02d}"
        if (a.month, a.day, b.month, b.day, b.year) == (1, 1, 12, 31, a.year):
            return f"{a.year:04d}"
        return f"{a.isoformat()}…{b.isoformat()}"


def month_window(at: datetime) -> Window:
    """The calendar month of ``at`` (UTC), as a window."""
    first = at.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    nxt = (first + timedelta(days=32)).replace(day=1)
    return Window(earliest=first, latest=nxt - timedelta(microseconds=1))


def year_window(at: datetime) -> Window:
    """The calendar year of ``at`` (UTC), as a window."""
    first = at.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    return Window(
        earliest=first, latest=first.replace(year=first.year + 1) - timedelta(microseconds=1)
    )
