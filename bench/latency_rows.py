"""``python -m bench latency``: publish-to-alert latency, a row per worker setting and rate.

For each (fetch wait, batch window, producer linger) and each rate a fresh worker on fresh
topics folds a small warm-up log, then summonses and closes are offered at the rate and
each one's alert is timed from send to receipt (bench/latency.py). 1,500 ms is the fetch
wait Faust hard-codes. Fresh topics for every row: the embedded broker's reads slow as
a topic fills (``python -m bench reads``), so rows that shared topics depended on the
rows run before them (a 100/s row after a 1,000/s one: p99 28.7 → 86.2 ms, session 25).
"""

from __future__ import annotations

import asyncio
import itertools
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from bench.generate import Shape
from bench.latency import latency_probe, probe_pairs
from bench.procs import cpu_of
from bench.report import cpu_line
from bench.run import BenchOptions, _broker, _worker_run
from bench.workers import stop_worker

__all__ = ["run_latency_rows"]


async def _rows(
    options: BenchOptions,
    rates: list[float],
    fetch_waits: list[int],
    windows: list[float],
    seconds: float,
    lingers: list[float],
    trace: Path | None = None,
) -> list[dict[str, Any]]:
    warmup = Shape(events=2_000, dyads=100, years=1.0, seed=11)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="dipwatch-latency-") as tmp:
        async with _broker(options, Path(tmp)) as bootstrap:
            start = warmup.end + timedelta(days=1)  # each probe after the one before
            settings = itertools.product(fetch_waits, windows, lingers, rates)
            for wait, window, linger, rate in settings:
                env = {
                    "DIPWATCH_FETCH_WAIT_MS": str(wait),
                    "DIPWATCH_BATCH_WITHIN_S": str(window),
                    "DIPWATCH_PRODUCER_LINGER_MS": str(linger),
                }
                _, worker, topics, _ = await _worker_run(bootstrap, warmup, Path(tmp), "l", env)
                try:
                    lat = await latency_probe(
                        bootstrap,
                        topics,
                        probe_pairs(),
                        rate,
                        seconds,
                        start,
                        others=cpu_of(bootstrap, worker.proc.pid),
                    )
                finally:
                    stop_worker(worker)
                start = datetime.fromisoformat(lat.pop("until")) + timedelta(days=1)
                row = {"fetch_wait_ms": wait, "batch_within_s": window, "linger_ms": linger}
                sends = lat.pop("trace")
                rows.append({**row, **lat})
                print(_line(rows[-1]), flush=True)
                if trace is not None:
                    _append_trace(trace, {**rows[-1], "trace": sends})
    return rows


def _append_trace(path: Path, row: dict[str, Any]) -> None:
    """One JSON line per row: its settings and figures, and ``trace``, each alert's
    (seconds from the probe's start to its send, latency in ms), in send order."""
    with path.open("ab") as out:
        out.write(orjson.dumps(row) + b"\n")


def _line(row: dict[str, Any]) -> str:
    return (
        f"fetch wait {row['fetch_wait_ms']:>5} ms  batch window {row['batch_within_s']:>6} s  "
        f"linger {row['linger_ms']:>3g} ms  "
        f"{row['offered_eps']:>6g}/s: p50 {row['p50']} ms, p95 {row['p95']} ms, "
        f"p99 {row['p99']} ms, max {row['max']} ms ({row['alerted']}/{row['sent']} alerted; "
        f"first alone {row['first_ms']} ms; {cpu_line(row)}; "
        f"latency growth {row['growth_ms_per_s']} ms per s: folded ~{row['kept_pace_eps']:g}/s)"
    )


def run_latency_rows(
    options: BenchOptions,
    rates: list[float],
    fetch_waits: list[int],
    windows: list[float],
    seconds: float,
    lingers: list[float],
    trace: Path | None = None,
) -> list[dict[str, Any]]:
    """Measure and print a latency row per setting and rate (and append each row with
    its alerts' trace to ``trace``, JSON lines, if given)."""
    return asyncio.run(_rows(options, rates, fetch_waits, windows, seconds, lingers, trace))
