"""``bench all``'s rates in rounds: the worker (b), Faust's ceiling (f), the ceiling with
writes (f2) and two workers (g), each drained in turn on the same topic, round after round.

These machines change speed by up to 2x within a run (docs/PERFORMANCE.md, "Session
25": (b)/(f) read 1.111, 0.510 and 1.180 in three runs of one hour). A ratio of two
drains taken minutes apart measures the machine as much as the code. So each round
drains every kind once, back to back, the order reversed from one round to the next (over
two rounds a machine that speeds up or slows down steadily weighs on both sides of a
ratio alike); each ratio is taken within its round, and the bench reports the median of
the rounds' ratios beside each round's own.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any, Final

__all__ = ["KINDS", "RATIOS", "by_kind", "order", "summarise"]

#: What a round drains: the worker, the ceiling, the ceiling with writes, two workers.
KINDS: Final = ("worker", "ceiling", "ceiling_writes", "two_workers")

#: The ratios each round gives: (name, numerator, denominator).
RATIOS: Final = (
    ("ceiling_ratio", "worker", "ceiling"),
    ("ceiling_writes_ratio", "worker", "ceiling_writes"),
    ("two_workers_ratio", "two_workers", "worker"),
)


def order(round_: int, rounds: int, kinds: Sequence[str]) -> list[str]:
    """The kinds (the worker first) in the order round ``round_`` (from 0) of ``rounds``
    drains them: reversed every other round, the last round reversed, so that it ends
    with the worker: the worker left running for the latency probe is one whose drain
    was timed."""
    if kinds[0] != "worker":
        raise ValueError(f"the worker comes first among the kinds, not {kinds[0]!r}")
    forward = (rounds - 1 - round_) % 2 == 1
    return list(kinds) if forward else list(reversed(kinds))


def summarise(rounds: Sequence[dict[str, float]]) -> dict[str, Any]:
    """The median of each rate and of each ratio over the rounds, and the rounds' own
    ratios (a ratio is left out where its round did not measure both sides)."""
    if not rounds:
        raise ValueError("no round was measured")
    each: list[dict[str, float]] = []
    for rates in rounds:
        ratios = {
            name: rates[top] / rates[bottom]
            for name, top, bottom in RATIOS
            if top in rates and bottom in rates and rates[bottom] > 0
        }
        each.append({**rates, **ratios})
    names = sorted({k for r in each for k in r})
    medians = {k: statistics.median(r[k] for r in each if k in r) for k in names}
    return {"median": medians, "rounds": each}


#: The processes a drain's figures are read for, in the order they are reported.
_PROCESSES: Final = ("worker", "fold", "broker")


def by_kind(
    median: dict[str, float], figure: str, digits: int | None = 1
) -> dict[str, dict[str, float]]:
    """A per-process figure of the drains (``<kind>.<figure>.<process>`` in ``median``)
    by kind, then process: e.g. ``cpu_us`` -> {"worker": {"worker": 159.2, "fold": …}}."""
    out: dict[str, dict[str, float]] = {}
    for kind in KINDS:
        for process in _PROCESSES:
            if (key := f"{kind}.{figure}.{process}") in median:
                out.setdefault(kind, {})[process] = round(median[key], digits)
    return out
