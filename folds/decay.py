"""Exact, order-independent sums of exponentially decayed weights, in event time.

Each event adds ``|w| * 2**((t - EPOCH) / half_life)`` to an accumulator, scaled to
integer micro-points. Each term depends only on its own event and integer addition is
associative, so the sum is bit-for-bit the same whatever the arrival order, batch size
or partition count — a late event lands exactly where it belongs. The decayed value at
time ``T`` is ``sum * 2**(-(T - EPOCH) / half_life)``. Python integers are unbounded, so
the growth of the terms with time costs only bytes (about one bit per half-life).

The sums are stored as decimal strings, and Python refuses to convert an integer of more
than 4,300 digits (about 14,280 bits) to one. Records are dated before ``LATEST`` (2200),
109,572 days after ``EPOCH``; with a half-life of at least ``MIN_HALF_LIFE_DAYS`` a sum
needs at most 109,572 / 8 + 24 (a term's mantissa) + 40 (2**40 events) = 13,761 bits.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Final

from schemas.events import EPOCH

__all__ = [
    "EPOCH",
    "MIN_HALF_LIFE_DAYS",
    "UNITS_PER_POINT",
    "decayed_value",
    "exponent",
    "term",
    "term_at",
    "value_at",
]

UNITS_PER_POINT: Final = 1_000_000
#: The shortest half-life the settings accept (see the bound above).
MIN_HALF_LIFE_DAYS: Final = 8.0
_SECONDS_PER_DAY: Final = 86_400.0


def exponent(at: datetime, half_life_days: float) -> float:
    """Half-lives from ``EPOCH`` to ``at``: what :func:`term_at` and :func:`value_at`
    take, so that one instant's exponent is computed once for several sums."""
    return (at - EPOCH).total_seconds() / (half_life_days * _SECONDS_PER_DAY)


def term(weight: float, at: datetime, half_life_days: float) -> int:
    """Return the integer term an event of ``weight`` at ``at`` adds to an accumulator."""
    return term_at(weight, exponent(at, half_life_days))


def term_at(weight: float, exponent: float) -> int:
    """:func:`term` for an instant given by its :func:`exponent`."""
    if weight == 0:
        return 0
    whole = math.floor(exponent)
    mantissa: int = round(abs(weight) * UNITS_PER_POINT * 2.0 ** (exponent - whole))
    return mantissa << whole if whole >= 0 else mantissa >> -whole


def decayed_value(total: int, at: datetime, half_life_days: float) -> float:
    """Return the accumulator's value, in Goldstein points, decayed to time ``at``."""
    return value_at(total, exponent(at, half_life_days))


def value_at(total: int, exponent: float) -> float:
    """:func:`decayed_value` at an instant given by its :func:`exponent`."""
    if total == 0:
        return 0.0
    whole = math.floor(exponent)
    shift = max(total.bit_length() - 62, 0)
    scaled = math.ldexp(float(total >> shift), shift - whole) * 2.0 ** (whole - exponent)
    return float(scaled) / UNITS_PER_POINT
