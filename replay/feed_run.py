"""``dipwatch ingest gdelt --since/--until`` and ``--follow``: GDELT's own feed, file by
file, through the same import as local files (replay/ingest.py). Each export file is
downloaded, checked (size, MD5), imported and recorded as done in the progress topic,
so a restart goes on where it stopped and no file is imported twice."""

from __future__ import annotations

import asyncio
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

from infra.admin import ensure_topics
from infra.brokers.probe import wait_until_ready
from infra.connection import Connection
from infra.logs import get_logger
from infra.settings import Settings
from infra.topics import Topics
from replay.gdelt import feed
from replay.gdelt.mapping import GdeltFilter
from replay.ingest import publish_report, read_gdelt

__all__ = ["FeedOptions", "run_feed"]

log = get_logger(__name__)


@dataclass(frozen=True)
class FeedOptions:
    """Backfill (``since``/``until``) or follow the feed (``follow``)."""

    keep: GdeltFilter = field(default_factory=GdeltFilter)
    since: datetime | None = None
    until: datetime | None = None
    follow: bool = False
    #: Bounds for a follower: stop after this long (None: run until stopped).
    max_runtime_s: float | None = None


def run_feed(settings: Settings, options: FeedOptions) -> int:
    """Backfill a date range from the master file list, or follow ``lastupdate.txt``."""
    return asyncio.run(_feed(settings, options))


async def _feed(settings: Settings, options: FeedOptions) -> int:
    connection = Connection.from_settings(settings)
    topics = Topics.from_settings(settings)
    await wait_until_ready(connection, settings.connect_timeout_s)
    await ensure_topics(connection, topics, settings.replication_factor)
    progress = feed.Progress(connection, topics.gdelt_progress)
    await progress.load()
    base = settings.gdelt_base_url.rstrip("/") + "/"
    stop_at = time.monotonic() + (options.max_runtime_s or float("inf"))
    timeout = aiohttp.ClientTimeout(total=300, sock_connect=20)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        if not options.follow:
            entries = await feed.retrying(
                "masterfilelist.txt",
                lambda: feed.fetch_text(session, base + "masterfilelist.txt"),
                max_wait_s=60,
                stop_at=stop_at,
            )
            chosen = feed.exports_between(feed.parse_list(entries), options.since, options.until)
            failed = [
                e for e in chosen if not await _import(settings, session, e, progress, options)
            ]
            return 1 if failed else 0
        while time.monotonic() < stop_at:
            await _poll(settings, session, base, progress, options, stop_at)
            await asyncio.sleep(min(settings.gdelt_poll_s, max(stop_at - time.monotonic(), 0)))
    return 0


async def _poll(
    settings: Settings,
    session: aiohttp.ClientSession,
    base: str,
    progress: feed.Progress,
    options: FeedOptions,
    stop_at: float,
) -> None:
    """One look at lastupdate.txt; import its export file if it is new."""
    try:
        text = await feed.retrying(
            "lastupdate.txt",
            lambda: feed.fetch_text(session, base + "lastupdate.txt"),
            max_wait_s=min(settings.gdelt_poll_s, 300),
            stop_at=stop_at,
        )
    except feed.FeedError:
        return  # the deadline came first
    for entry in feed.parse_list(text):
        if entry.stamp is not None:
            await _import(settings, session, entry, progress, options)


async def _import(
    settings: Settings,
    session: aiohttp.ClientSession,
    entry: feed.FeedEntry,
    progress: feed.Progress,
    options: FeedOptions,
) -> bool:
    """Import one export file unless it already is; False if it could not be had."""
    if entry.name in progress.done:
        return True
    with tempfile.TemporaryDirectory(prefix="dipwatch-gdelt-") as folder:
        try:
            path = await feed.download(session, entry, Path(folder))
        except feed.FeedError as exc:
            log.error("gdelt_file_refused", file=entry.name, reason=str(exc))
            print(f"refused: {exc} (not recorded as imported; tried again next time)")
            return False
        report = read_gdelt([path], options.keep)
        report.acts.sort(key=lambda e: (e.occurred_at, e.event_id))
        published = await publish_report(settings, report, ready=True)
    summary = {"rows": report.rows, "acts": published, "refused": sum(report.refused.values())}
    await progress.mark(entry, {**summary, "imported_at": datetime.now(UTC).isoformat()})
    print(f"imported {entry.name}: {report.rows} rows, {published} acts", flush=True)
    log.info("gdelt_file_imported", file=entry.name, **summary)
    return True
