"""How fast this machine runs Python right now: a fixed loop, timed.

The machines the benchmarks run on change speed from day to day (the same code, the
same 100,000-event ``replay --offline``: 3.95 s one day, 10.1 to 10.8 s another) and for
seconds at a time within a run. A ratio within one run is immune to that; an absolute
figure — events/s against a target — is not. Each bench command prints this loop's time
beside its figures, so two days' figures can be told apart from the machine's: divide
a rate by the loop's speed, or compare the loop before comparing rates.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Final

__all__ = ["best_of", "calibration_ms", "machine_line"]

#: Iterations of the loop: ~10 ms on a fast day here.
_ITERATIONS: Final = 20_000


def _loop() -> int:
    """Work of the kind a fold does, in pure Python: dict lookups, tuples, datetime
    arithmetic and comparison, a small string made per step."""
    seen: dict[str, tuple[datetime, int]] = {}
    at = datetime(2020, 1, 1, tzinfo=UTC)
    step = timedelta(hours=1)
    for i in range(_ITERATIONS):
        key = f"K{i % 97}"
        last = seen.get(key)
        seen[key] = (at, i) if last is None else (max(last[0], at), last[1] + i)
        at += step
    return len(seen)


def best_of(run: Callable[[], Any], repeat: int = 3) -> float:
    """The shortest time of ``repeat`` runs of ``run``, in seconds: what the code costs
    when nothing slowed the machine (every bench figure that times a call uses it)."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best


def calibration_ms(repeat: int = 7) -> float:
    """The loop's best time of ``repeat`` runs, in ms."""
    return best_of(_loop, repeat) * 1000


def machine_line() -> str:
    """The line each bench command prints first."""
    return (
        f"machine: calibration loop {calibration_ms():.2f} ms (best of 7; python -m "
        "bench.machine; absolute figures scale with it, ratios within a run do not)"
    )


if __name__ == "__main__":
    print(machine_line())
