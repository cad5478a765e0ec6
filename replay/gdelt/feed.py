"""GDELT's published file lists: backfill a date range, follow the 15-minute feed.

``masterfilelist.txt`` lists every file since 2015 and ``lastupdate.txt`` the newest, a
line each: ``SIZE MD5 URL``. Each export file is downloaded, checked against its size
and MD5, imported, and then recorded as imported in a compacted topic
(``<prefix>.ingest.gdelt``, key = file name): a restarted follower reads that topic
first and neither re-imports nor skips a file. A file whose events were published but
whose record was not yet written is imported again after a crash; its events carry the
same ids, so the worker counts them once.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import aiohttp

from infra.clients import event_producer, plain_consumer
from infra.connection import Connection
from infra.logs import get_logger

__all__ = ["FeedEntry", "FeedError", "Progress", "download", "exports_between", "parse_list"]

log = get_logger(__name__)

_STAMP: Final = re.compile(r"(\d{14})\.export\.CSV\.zip$", re.IGNORECASE)


class FeedError(Exception):
    """A list or file of the feed could not be had or did not check out."""


@dataclass(frozen=True)
class FeedEntry:
    """One line of a file list: a file, its size and MD5."""

    size: int
    md5: str
    url: str

    @property
    def name(self) -> str:
        return self.url.rsplit("/", 1)[-1]

    @property
    def stamp(self) -> datetime | None:
        """When an export file's 15 minutes began (from its name); None if not an export."""
        found = _STAMP.search(self.name)
        if found is None:
            return None
        return datetime.strptime(found.group(1), "%Y%m%d%H%M%S").replace(tzinfo=UTC)


def parse_list(text: str) -> list[FeedEntry]:
    """The entries of a ``masterfilelist.txt`` or ``lastupdate.txt`` (bad lines skipped)."""
    entries = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0].isdigit() and len(parts[1]) == 32:
            entries.append(FeedEntry(int(parts[0]), parts[1].lower(), parts[2]))
    return entries


def exports_between(
    entries: list[FeedEntry], since: datetime | None, until: datetime | None
) -> list[FeedEntry]:
    """The export files whose 15 minutes begin in [since, until), oldest first."""
    chosen = [
        e
        for e in entries
        if e.stamp is not None
        and (since is None or e.stamp >= since)
        and (until is None or e.stamp < until)
    ]
    return sorted(chosen, key=lambda e: e.name)


async def fetch_text(session: aiohttp.ClientSession, url: str) -> str:
    """GET ``url`` as text; FeedError says what went wrong."""
    try:
        async with session.get(url) as response:
            if response.status != 200:
                raise FeedError(f"{url}: HTTP {response.status}")
            return await response.text()
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        raise FeedError(f"{url}: {type(exc).__name__}: {exc}") from None


async def download(session: aiohttp.ClientSession, entry: FeedEntry, folder: Path) -> Path:
    """Fetch one file into ``folder``; FeedError unless its size and MD5 match the list."""
    try:
        async with session.get(entry.url) as response:
            if response.status != 200:
                raise FeedError(f"{entry.url}: HTTP {response.status}")
            body = await response.read()
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        raise FeedError(f"{entry.url}: {type(exc).__name__}: {exc}") from None
    if len(body) != entry.size:
        raise FeedError(f"{entry.name}: {len(body)} bytes, the list says {entry.size}")
    digest = hashlib.md5(body, usedforsecurity=False).hexdigest()
    if digest != entry.md5:
        raise FeedError(f"{entry.name}: MD5 {digest}, the list says {entry.md5}")
    path = folder / entry.name
    path.write_bytes(body)
    return path


class Progress:
    """Which files are imported, kept in a compacted topic (key = file name)."""

    def __init__(self, connection: Connection, topic: str) -> None:
        self.connection = connection
        self.topic = topic
        self.done: dict[str, dict[str, Any]] = {}

    async def load(self, idle_s: float = 1.5) -> None:
        """Read the topic from its beginning until it has nothing more to give."""
        consumer = plain_consumer(self.connection, self.topic, auto_offset_reset="earliest")
        await consumer.start()
        try:
            last = time.monotonic()
            while time.monotonic() - last < idle_s:
                batch = await consumer.getmany(timeout_ms=300)
                for records in batch.values():
                    for record in records:
                        if record.key is not None and record.value is not None:
                            self.done[record.key.decode()] = json.loads(record.value)
                    last = time.monotonic()
        finally:
            await consumer.stop()

    async def mark(self, entry: FeedEntry, summary: dict[str, Any]) -> None:
        """Record ``entry`` as imported (acknowledged by every replica)."""
        value = {"md5": entry.md5, "size": entry.size, **summary}
        producer = event_producer(self.connection)
        await producer.start()
        try:
            await producer.send_and_wait(
                self.topic, key=entry.name.encode(), value=json.dumps(value).encode()
            )
        finally:
            await producer.stop()
        self.done[entry.name] = value


async def retrying(
    what: str, attempt: Callable[[], Awaitable[Any]], *, max_wait_s: float, stop_at: float
) -> Any:
    """Run ``attempt`` until it succeeds, backing off (1 s doubling to ``max_wait_s``) and
    logging each failure on one line; FeedError once ``stop_at`` (monotonic) is past."""
    wait = 1.0
    while True:
        try:
            return await attempt()
        except FeedError as exc:
            if time.monotonic() + wait > stop_at:
                raise
            log.warning("gdelt_feed_unavailable", what=what, error=str(exc), retry_in_s=wait)
            await asyncio.sleep(wait)
            wait = min(wait * 2, max_wait_s)
