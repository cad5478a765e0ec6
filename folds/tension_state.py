"""What the tension fold stores per dyad: exact decayed sums plus what its rules remember
(the rules are in folds/tension.py, the formula in docs/TENSION.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BeforeValidator, Field, PlainSerializer

from folds.base import StateModel

__all__ = ["ExactSum", "TensionState"]


def _from_text(value: object) -> object:
    """A stored sum: hexadecimal text (``0x…``), or decimal text in values stored
    before session 8 (pydantic parses those, as before)."""
    if isinstance(value, str) and value.startswith("0x"):
        return int(value, 16)
    return value


#: An exact decayed sum (folds/decay.py): an integer in memory, hexadecimal text in JSON
#: (a sum has up to ~14,000 bits; JSON readers elsewhere would round so large a number,
#: and hex is written in linear time where decimal text takes ~3 us per sum).
ExactSum = Annotated[
    int,
    BeforeValidator(_from_text),
    Field(ge=0),
    PlainSerializer(hex, return_type=str),  # "0x…" (a builtin: no Python frame)
]


class TensionState(StateModel):
    """Exact decayed sums plus what the alert rules remember."""

    dyad: str
    conflict_sum: ExactSum = 0
    cooperation_sum: ExactSum = 0
    baseline_sum: ExactSum = 0
    events: int = 0
    first_at: datetime | None = None
    as_of: datetime | None = None
    band: int = 0
    spiking: bool = False
    #: Latest use of force by a state organ (CAMEO 19x/20x) and latest truce (0871/0874):
    #: maxima, so as order-free as the sums.
    last_force_at: datetime | None = None
    last_truce_at: datetime | None = None
    #: The latest conflict act (the evidence of a fall: the last act that held it up).
    last_conflict: str | None = None
    #: How much larger the conflict sum would be with every act at the *end* of its
    #: window (the latest time its sources allow; 0 while every act has its day), and
    #: the latest use of force likewise: how late a fall may really be, when acts behind
    #: it are dated only to a window. (An excess, so that a dyad of day-dated acts does
    #: not store a second 450-digit sum.)
    conflict_late_excess: ExactSum = 0
    last_force_late: datetime | None = None
