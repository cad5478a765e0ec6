"""``dipwatch ingest gdelt``: GDELT event files into the events topic (or an offline fold).

Read every row, keep the acts between two different states that pass the filters,
collapse the rows of one act (replay/gdelt/acts.py), then publish through the
replay's publisher. A bad row goes to the dead-letter topic with ``file:line`` and its
reason, a bad file is reported whole; the rest goes in. Every row is accounted for in
the summary: kept, skipped (and why) or refused (and why).
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from infra.runtime import no_cycle_collection
from infra.settings import Settings
from replay.gdelt.acts import Acts
from replay.gdelt.columns import Layout
from replay.gdelt.mapping import GdeltFilter, RowRefused, states_of, wrong_columns
from replay.gdelt.reader import FileRefused, gdelt_files, layout_of, numbered_lines
from replay.loader import Loaded, Problem
from replay.offline import fold_and_print
from schemas.events import DiplomaticEvent

__all__ = ["IngestOptions", "IngestReport", "publish_report", "read_gdelt", "run_ingest"]


@dataclass(frozen=True)
class IngestOptions:
    """What the user asked the import to do."""

    paths: tuple[Path, ...]
    keep: GdeltFilter = field(default_factory=GdeltFilter)
    dry_run: bool = False
    offline: bool = False
    state_path: Path | None = None


@dataclass
class IngestReport:
    """What became of every row of every file."""

    files: int = 0
    rows: int = 0
    kept: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)
    problems: list[Problem] = field(default_factory=list)
    bad_files: list[str] = field(default_factory=list)
    acts: list[DiplomaticEvent] = field(default_factory=list)
    #: Seconds spent collapsing kept rows into validated records (for the benchmark).
    collapse_s: float = 0.0

    def render(self) -> str:
        lines = [
            f"files: {self.files} read"
            + (f", {len(self.bad_files)} refused" if self.bad_files else ""),
            *(f"  refused file: {reason}" for reason in self.bad_files),
            f"rows: {self.rows} read, {self.kept} kept, "
            f"{sum(self.skipped.values())} skipped, {sum(self.refused.values())} refused",
            *(f"  skipped: {n:>8}  {why}" for why, n in _by(self.skipped)),
            *(
                f"  refused: {n:>8}  {why} (dead-letter topic)"
                for why, n in self.refused.most_common()
            ),
            f"acts: {self.kept} rows collapsed into {len(self.acts)} acts "
            "(one per ordered dyad, CAMEO code and day)",
        ]
        return "\n".join(lines)


def _by(counts: Counter[str]) -> list[tuple[str, int]]:
    return counts.most_common()


def read_gdelt(
    paths: Iterable[Path], keep: GdeltFilter, *, now: datetime | None = None
) -> IngestReport:
    """Read, filter and map every row of ``paths``; collapse the kept rows into acts.

    The cyclic garbage collector is paused meanwhile, and what was read frozen out of later
    collections (``infra.runtime.no_cycle_collection``): the loop creates no cycles, and
    with 100,000s of surviving rows its full collections took two thirds of the time
    (``python -m bench gdelt``)."""
    with no_cycle_collection():
        return _read_gdelt(paths, keep, now)


def _read_gdelt(paths: Iterable[Path], keep: GdeltFilter, now: datetime | None) -> IngestReport:
    report = IngestReport()
    acts = Acts(keep)
    for path in gdelt_files(list(paths)):
        report.files += 1
        try:
            _read_file(path, acts, report)
        except FileRefused as exc:
            report.bad_files.append(str(exc))
    short = acts.too_few_sources()
    report.kept = acts.kept - short
    if short:
        report.skipped[f"fewer than {keep.min_sources} sources (the act's rows summed)"] += short
    started = time.perf_counter()
    report.acts = acts.records(recorded_at=now or datetime.now(UTC))
    report.collapse_s = time.perf_counter() - started
    return report


def _read_file(path: Path, acts: Acts, report: IngestReport) -> None:
    """Every row of one file into ``acts`` or the report's counts; FileRefused if the
    file cannot be read at all (it is refused whole, before any of its rows)."""
    layout: Layout | None = None
    for number, raw in numbered_lines(path):
        if layout is None:
            layout = layout_of(path, number, raw)
            # Most rows are skipped on their two country cells: split no further.
            countries_end = max(layout.actor1_country, layout.actor2_country) + 1
        report.rows += 1
        try:
            if (columns := raw.count(b"\t") + 1) != layout.columns:
                raise wrong_columns(columns, layout)
            states = states_of(raw.split(b"\t", countries_end), layout)
            if isinstance(states, str):
                report.skipped[states] += 1
            elif not acts.add_between(states, raw.split(b"\t"), layout):
                report.skipped["filtered out"] += 1
        except RowRefused as exc:
            if exc.skip:
                report.skipped[exc.kind] += 1
            else:
                report.refused[exc.kind] += 1
                report.problems.append(Problem(str(path), number, exc.reason, raw))


def run_ingest(settings: Settings, options: IngestOptions) -> int:
    """Run an import; return the process exit code (1 if any file was refused)."""
    report = read_gdelt(options.paths, options.keep)
    report.acts.sort(key=lambda e: (e.occurred_at, e.event_id))
    if options.offline:
        fold_and_print(settings, report.acts, options.state_path)
    elif not options.dry_run:
        published = asyncio.run(publish_report(settings, report))
        print(f"published: {published} acts to the events topic", file=sys.stderr)
    prefix = "dry run: nothing published\n" if options.dry_run else ""
    print(prefix + report.render(), file=sys.stderr if options.offline else sys.stdout)
    return 1 if report.bad_files else 0


async def publish_report(settings: Settings, report: IngestReport, ready: bool = False) -> int:
    """Publish the acts of ``report`` (and its refused rows to the dead-letter topic);
    ``ready``: the broker was waited for and the topics made already."""
    # The Kafka clients only here: an offline import starts without them.
    from replay.publish import publish_log

    loaded = [Loaded(event, "gdelt", index) for index, event in enumerate(report.acts)]
    return await publish_log(settings, loaded, report.problems, ready=ready)
