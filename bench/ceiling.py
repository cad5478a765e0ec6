"""``python -m bench.ceiling``: Faust's own ceiling with the project's decode.

A Faust worker built exactly as ``dipwatch worker`` is (the same settings, consumer,
batches and event loop) whose agent decodes each record and does nothing else: no
folds, no table, no alerts. What it folds per second is the most any Faust worker with
this decode can do on the machine; ``python -m bench all`` runs it on the same topic
and reports the worker's rate as a fraction of it.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import faust

from infra.connection import Connection
from infra.settings import Settings
from infra.topics import Topics
from schemas.codec import decode_event
from schemas.errors import InvalidRecord
from streams.app import app_options
from streams.compat import set_fetch_wait
from streams.worker import faust_worker, new_loop

__all__ = ["ceiling_app", "main"]


def ceiling_app(settings: Settings) -> faust.App:
    """The null worker: the worker's Faust app with an agent that only decodes."""
    set_fetch_wait(settings.fetch_wait_ms)
    app = faust.App(settings.app_id, **app_options(settings, Connection.from_settings(settings)))
    events = app.topic(
        Topics.from_settings(settings).events,
        partitions=settings.partitions,
        key_serializer="raw",
        value_serializer="raw",
    )

    @app.agent(events, name="bench.ceiling", concurrency=1)
    async def decode_only(stream: faust.StreamT[Any]) -> None:
        batches = stream.take_events(settings.batch_size, within=settings.batch_within_s)  # type: ignore[attr-defined]
        async for records in batches:
            for record in records:
                with contextlib.suppress(InvalidRecord):  # the closing ticks
                    decode_event(record.message.value)

    return app


def main() -> None:
    """Run the null worker until SIGTERM."""
    settings = Settings()
    loop = new_loop(settings.uvloop)
    asyncio.set_event_loop(loop)
    app = ceiling_app(settings)
    worker = faust_worker(app, loop)
    worker.execute_from_commandline()


if __name__ == "__main__":
    main()
