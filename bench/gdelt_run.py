"""``python -m bench gdelt``: a synthetic GDELT 2.0 day through the import and the worker.

Reports rows/s for read+filter+map (median of three, in process), the publish rate of
the collapsed acts through a real broker, and the time from the first row read to the
worker having folded the last act (a real ``dipwatch worker`` process, started and ready
beforehand, the import in this process).
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any

from bench.gdelt import synthetic_day, write_file
from bench.run import BenchOptions, _broker
from bench.workers import PARTITIONS, drain, start_worker, stop_worker
from infra.admin import ensure_topics
from infra.topics import Topics
from replay.gdelt.mapping import GdeltFilter
from replay.ingest import read_gdelt
from replay.loader import Loaded
from replay.publish import publish_events

__all__ = ["run_gdelt_bench"]


def _read(path: Path) -> tuple[float, Any]:
    started = time.perf_counter()
    report = read_gdelt([path], GdeltFilter())
    return time.perf_counter() - started, report


async def _through(options: BenchOptions, path: Path, workdir: Path) -> dict[str, float]:
    async with _broker(options, workdir) as bootstrap:
        topics = Topics(f"benchg{uuid.uuid4().hex[:6]}", PARTITIONS)
        await ensure_topics(bootstrap, topics)
        worker = start_worker(bootstrap, topics, workdir)
        try:
            # Ready = it folded a first probe event; the clock starts after that.
            probe_report = read_gdelt([path], GdeltFilter(countries=frozenset({"KAZ", "RUS"})))
            probe = [Loaded(probe_report.acts[0], "probe", 0)]
            await publish_events(bootstrap, topics.events, probe)
            await drain(bootstrap, topics, worker, 1)
            first_row = time.perf_counter()
            report = read_gdelt([path], GdeltFilter())
            acts = sorted(report.acts, key=lambda e: (e.occurred_at, e.event_id))
            loaded = [Loaded(e, "bench", i) for i, e in enumerate(acts)]
            published_at = time.perf_counter()
            await publish_events(bootstrap, topics.events, loaded)
            publish_s = time.perf_counter() - published_at
            await drain(bootstrap, topics, worker, len(loaded) + 1)
            folded_s = time.perf_counter() - first_row
        finally:
            stop_worker(worker)
    return {
        "acts": len(loaded),
        "publish_acts_per_s": round(len(loaded) / publish_s),
        "first_row_to_folded_s": round(folded_s, 1),
    }


def run_gdelt_bench(options: BenchOptions, rows: int) -> dict[str, Any]:
    """Run the GDELT benchmark and print its figures."""
    with tempfile.TemporaryDirectory(prefix="dipwatch-gdelt-bench-") as folder:
        workdir = Path(folder)
        path = write_file(
            workdir / "20221005000000.export.CSV.zip", list(synthetic_day(rows, date(2022, 10, 5)))
        )
        runs = [_read(path) for _ in range(3)]
        seconds = statistics.median(s for s, _ in runs)
        collapse_s = statistics.median(r.collapse_s for _, r in runs)
        report = runs[0][1]
        summary: dict[str, Any] = {
            "rows": report.rows,
            "kept": report.kept,
            "acts": len(report.acts),
            # The whole import's mapping: rows to validated, collapsed records.
            "read_filter_map_rows_per_s": round(report.rows / seconds),
            # Its two parts: rows to acts, then acts to records (pydantic validation).
            "rows_to_acts_rows_per_s": round(report.rows / (seconds - collapse_s)),
            "collapse_validate_acts_per_s": round(len(report.acts) / collapse_s),
        }
        summary |= asyncio.run(_through(options, path, workdir))
    for key, value in summary.items():
        print(f"{key:>28}: {value:,}" if isinstance(value, int) else f"{key:>28}: {value}")
    return summary
