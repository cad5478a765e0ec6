"""Exact, order-independent sums of exponentially decayed weights, in event time.

Each event adds ``|w| * 2**((t - EPOCH) / half_life)`` to an accumulator, scaled to
integer micro-points. Each term depends only on its own event and integer addition is
associative, so the sum is bit-for-bit the same whatever the arrival order, batch size
or partition count — a late event lands exactly where it belongs. The decayed value at
time ``T`` is ``sum * 2**(-(T - EPOCH) / half_life)``. Python integers are unbounded, so
the growth of the terms with time costs only bytes (about one bit per half-life).

The sums are stored as hexadecimal text (decimal text before session 8, which Python
refuses to read past 4,300 digits, about 14,280 bits). Records are dated before ``LATEST`` (2200),
109,572 days after ``EPOCH``; with a half-life of at least ``MIN_HALF_LIFE_DAYS`` a sum
needs at most 109,572 / 8 + 24 (a term's mantissa) + 40 (2**40 events) = 13,761 bits.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Final, NamedTuple

from schemas.events import EPOCH

__all__ = [
    "EPOCH",
    "MIN_HALF_LIFE_DAYS",
    "UNITS_PER_POINT",
    "Instant",
    "decayed_value",
    "exponent",
    "instant",
    "instants",
    "term",
]

UNITS_PER_POINT: Final = 1_000_000
#: The shortest half-life the settings accept (see the bound above).
MIN_HALF_LIFE_DAYS: Final = 8.0
_SECONDS_PER_DAY: Final = 86_400.0


def exponent(at: datetime, half_life_days: float) -> float:
    """Half-lives from ``EPOCH`` to ``at`` (an :class:`Instant` splits it once for
    several sums)."""
    return (at - EPOCH).total_seconds() / (half_life_days * _SECONDS_PER_DAY)


class Instant(NamedTuple):
    """An instant's :func:`exponent` for one half-life, split once into what every term
    and every reading at that instant need."""

    exponent: float
    whole: int  #: ``floor(exponent)``
    up: float  #: ``2 ** (exponent - whole)``: a term's mantissa factor
    down: float  #: ``2 ** (whole - exponent)``: a reading's factor

    def term(self, weight: float) -> int:
        """The integer term an event of ``weight`` at this instant adds to a sum."""
        if weight == 0:
            return 0
        mantissa: int = round(abs(weight) * UNITS_PER_POINT * self.up)
        whole = self.whole
        return mantissa << whole if whole >= 0 else mantissa >> -whole

    def value(self, total: int) -> float:
        """The sum's value, in Goldstein points, decayed to this instant."""
        if total == 0:
            return 0.0
        shift = max(total.bit_length() - 62, 0)
        scaled = math.ldexp(float(total >> shift), shift - self.whole) * self.down
        return float(scaled) / UNITS_PER_POINT


def instant(at: datetime, half_life_days: float) -> Instant:
    """``at`` as an :class:`Instant` of ``half_life_days``."""
    return _split(exponent(at, half_life_days))


def instants(at: datetime, half_lives: tuple[float, float]) -> tuple[Instant, Instant]:
    """``at`` as an :class:`Instant` of each of two half-lives (the same as two calls of
    :func:`instant`, the time since ``EPOCH`` taken once)."""
    seconds = (at - EPOCH).total_seconds()
    return (
        _split(seconds / (half_lives[0] * _SECONDS_PER_DAY)),
        _split(seconds / (half_lives[1] * _SECONDS_PER_DAY)),
    )


_new = tuple.__new__


def _split(e: float) -> Instant:
    whole = math.floor(e)
    return _new(Instant, (e, whole, 2.0 ** (e - whole), 2.0 ** (whole - e)))


def term(weight: float, at: datetime, half_life_days: float) -> int:
    """Return the integer term an event of ``weight`` at ``at`` adds to an accumulator."""
    return instant(at, half_life_days).term(weight)


def decayed_value(total: int, at: datetime, half_life_days: float) -> float:
    """Return the accumulator's value, in Goldstein points, decayed to time ``at``."""
    return instant(at, half_life_days).value(total)
