"""``dipwatch replay``: load, validate, select, then publish, fold offline or just summarise."""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from infra.settings import Settings
from replay.loader import LoadReport, bundled_corpus, load_paths, select
from replay.offline import fold_and_print
from replay.summary import summarise
from schemas.events import DiplomaticEvent

if TYPE_CHECKING:
    from replay.publish import Speed

__all__ = ["ReplayOptions", "run_replay"]


@dataclass(frozen=True)
class ReplayOptions:
    """What the user asked the replay to do."""

    paths: tuple[Path, ...] = ()
    speed: Speed = None
    since: datetime | None = None
    until: datetime | None = None
    dyads: tuple[str, ...] = ()
    dry_run: bool = False
    skip_invalid: bool = False
    offline: bool = False
    state_path: Path | None = None
    #: The entry's clock: events dated after it (+ tolerance) are refused.
    now: datetime | None = None


def run_replay(settings: Settings, options: ReplayOptions) -> int:
    """Run a replay; return the process exit code."""
    report = load_paths(
        list(options.paths) or [bundled_corpus()],
        now=options.now,
        lateness_days=settings.allowed_lateness_days,
    )
    if report.problems and not options.skip_invalid:
        for problem in report.problems:
            print(problem, file=sys.stderr)
        print(
            f"refused: {len(report.problems)} invalid record(s); nothing published "
            "(--skip-invalid sends them to the dead-letter topic)",
            file=sys.stderr,
        )
        return 1
    chosen = select(report.events, since=options.since, until=options.until, dyads=options.dyads)
    if options.offline:
        return _offline(settings, options, chosen_events=[i.event for i in chosen])
    published = 0
    if not options.dry_run:
        published = asyncio.run(_publish(settings, report, chosen, options.speed))
    summary = summarise(
        chosen,
        published=published,
        skipped_invalid=len(report.problems),
        duplicates=report.duplicates,
        filtered_out=len(report.events) - len(chosen),
    )
    print(("dry run: nothing published\n" if options.dry_run else "") + summary.render())
    return 0


def _offline(
    settings: Settings, options: ReplayOptions, chosen_events: list[DiplomaticEvent]
) -> int:
    fold_and_print(settings, chosen_events, options.state_path)
    return 0


async def _publish(settings: Settings, report: LoadReport, chosen: list, speed: Speed) -> int:  # type: ignore[type-arg]
    # The Kafka clients only here: an offline replay starts without them.
    from replay.publish import publish_log

    if not sys.stderr.isatty():
        return await publish_log(settings, chosen, report.problems, speed=speed)
    from rich.progress import Progress

    with Progress(transient=True) as progress:
        task = progress.add_task("replaying", total=len(chosen))
        return await publish_log(
            settings,
            chosen,
            report.problems,
            speed=speed,
            on_progress=lambda n: progress.advance(task, n),
        )
