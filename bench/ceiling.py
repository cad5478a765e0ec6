"""``python -m bench.ceiling``: Faust's own ceiling with the project's decode.

A Faust worker built exactly as ``dipwatch worker`` is (the same settings, consumer,
batches and event loop) whose agent decodes each record and does nothing else: no
folds, no table, no alerts. What it folds per second is the most any Faust worker with
this decode can do on the machine; ``python -m bench all`` runs it on the same topic
and reports the worker's rate as a fraction of it.

With ``--writes`` the agent also writes one small value per touched dyad per batch to a
table, as the worker writes its dyad logs: the ceiling of any design that keeps its
state per dyad in a Faust table, whatever the state costs to fold and to encode.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from typing import Any

import faust

from infra.connection import Connection
from infra.runtime import tune_gc
from infra.settings import Settings
from infra.topics import Topics
from schemas.codec import decode_event
from schemas.errors import InvalidRecord
from streams.app import app_options
from streams.compat import ChangelogWriter, CommitWhenCaughtUp, set_fetch_wait
from streams.worker import faust_worker, new_loop

__all__ = ["ceiling_app", "main"]


def ceiling_app(settings: Settings, writes: bool = False) -> faust.App:
    """The null worker: the worker's Faust app with an agent that only decodes (and,
    with ``writes``, writes a record's offset under its key once per batch)."""
    set_fetch_wait(settings.fetch_wait_ms)
    app = faust.App(settings.app_id, **app_options(settings, Connection.from_settings(settings)))
    events = app.topic(
        Topics.from_settings(settings).events,
        partitions=settings.partitions,
        key_serializer="raw",
        value_serializer="raw",
    )

    # (f) has no table at all: its changelog would be one more topic to recover.
    table = (
        app.Table("bench-ceiling", default=None, partitions=settings.partitions) if writes else None
    )
    writer = ChangelogWriter(app, table) if table is not None else None
    caught_up = CommitWhenCaughtUp(app, settings.batch_size, settings.caught_up_commit_s)

    @app.agent(events, name="bench.ceiling", concurrency=1)
    async def decode_only(stream: faust.StreamT[Any]) -> None:
        batches = stream.take_events(settings.batch_size, within=settings.batch_within_s)  # type: ignore[attr-defined]
        async for records in batches:
            for record in records:
                with contextlib.suppress(InvalidRecord):  # the closing ticks
                    decode_event(record.message.value)
            if writer is not None:  # one write per dyad, in its partition, as the worker
                for key, record in {r.message.key: r for r in records}.items():
                    message = record.message
                    await writer.set(message.partition, key.decode(), {"offset": message.offset})
            caught_up.batch_done(len(records))  # as the worker: commits when caught up

    return app


def main() -> None:
    """Run the null worker until SIGTERM."""
    settings = Settings()
    tune_gc(settings.gc_threshold)  # as every dipwatch command does
    loop = new_loop(settings.uvloop)
    asyncio.set_event_loop(loop)
    app = ceiling_app(settings, writes="--writes" in sys.argv[1:])
    worker = faust_worker(app, loop)
    worker.execute_from_commandline()


if __name__ == "__main__":
    main()
