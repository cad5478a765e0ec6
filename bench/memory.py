"""``python -m bench memory``: the worker's resident set against the length of history.

For each event count a fresh worker folds a fresh topic of that many synthetic events on
the same pairs, at the same event rate per year (so doubling the events doubles the
history); once it has committed them all, each of its processes' peak (``VmHWM``) and
current (``VmRSS``) resident set is read. The state is O(pairs) by design, so what grows
with the events alone is memory the processes keep besides it; this shows how much, and
whether the growth slows (docs/PERFORMANCE.md, "Session 16")."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

from bench.generate import Shape
from bench.procs import children, status_mib
from bench.run import BenchOptions, _broker, _worker_run
from bench.workers import stop_worker

__all__ = ["memory_rows", "run_memory_rows"]


def _resident(pid: int) -> tuple[float, float]:
    """A process's (VmHWM, VmRSS) in MiB."""
    return round(status_mib(pid, "VmHWM"), 1), round(status_mib(pid, "VmRSS"), 1)


async def memory_rows(
    options: BenchOptions, counts: list[int], dyads: int, years_per_10k: float
) -> list[dict[str, Any]]:
    """A row per event count: the worker's processes' resident sets after the drain."""
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="dipwatch-memory-") as tmp:
        async with _broker(options, Path(tmp)) as bootstrap:
            for count in counts:
                years = years_per_10k * count / 10_000
                shape = Shape(count, dyads, years, seed=7)
                figures, worker, _, _ = await _worker_run(bootstrap, shape, Path(tmp), "r")
                try:
                    pids = [worker.proc.pid, *children(worker.proc.pid)]
                    row = {
                        "events": count,
                        "dyads": dyads,
                        "years": round(years, 2),
                        "worker_eps": round(figures["worker_eps"]),
                        "processes": [_resident(pid) for pid in pids],
                    }
                finally:
                    stop_worker(worker)
                rows.append(row)
                print(_line(row), flush=True)
    return rows


def _line(row: dict[str, Any]) -> str:
    names = ("Faust's process", "fold process")
    parts = [
        f"{names[min(i, 1)]} {hwm} / {rss} MiB" for i, (hwm, rss) in enumerate(row["processes"])
    ]
    return (
        f"{row['events']:>8,} events, {row['dyads']} pairs, {row['years']:g} y: "
        f"{'; '.join(parts)} (peak / now; {row['worker_eps']:,} events/s)"
    )


def run_memory_rows(
    options: BenchOptions, counts: list[int], dyads: int, years_per_10k: float
) -> list[dict[str, Any]]:
    """Measure and print a row per event count."""
    return asyncio.run(memory_rows(options, counts, dyads, years_per_10k))
