"""The web service a worker runs next to its agents when ``DIPWATCH_WEB_ENABLED``."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import faust
import mode
from aiohttp import web
from aiokafka.errors import KafkaError

from folds.registry import build_folds
from infra.clients import event_producer
from infra.connection import Connection
from infra.logs import get_logger
from infra.progress import Progress
from infra.settings import Settings
from infra.topics import Topics
from query.readmodel import ReadModel
from query.web import build_web_app

__all__ = ["register_web"]

log = get_logger(__name__)


def register_web(
    app: faust.App,
    settings: Settings,
    connection: Connection,
    topics: Topics,
    progress: Progress,
) -> None:
    """Start the read model, the HTTP server and the events producer with ``app`` (an
    extension of the engine's app: ``create_app(..., extensions=[register_web])``)."""

    def assigned() -> list[int]:
        """The events-topic partitions this worker folds now."""
        return sorted(tp.partition for tp in app.consumer.assignment() if tp.topic == topics.events)

    @app.service
    class WebService(mode.Service):
        model: ReadModel
        runner: web.AppRunner
        producer: Any
        follower: asyncio.Task[None]

        async def on_start(self) -> None:
            self.model = ReadModel(
                build_folds(settings, topics.aggregates),
                topics,
                settings.app_id,
                settings.recent_alerts,
                settings.dedup_horizon_days,
                settings.allowed_lateness_days,
            )
            self.follower = asyncio.create_task(self._follow())
            self.producer = event_producer(connection)
            await self.producer.start()
            self.runner = web.AppRunner(
                build_web_app(
                    settings, self.model, self.producer, topics.events, assigned, progress
                ),
                access_log=None,
            )
            await self.runner.setup()
            await web.TCPSite(self.runner, settings.web_host, settings.web_port).start()
            log.info("web_listening", host=settings.web_host, port=settings.web_port)

        async def _follow(self) -> None:
            while True:
                try:
                    await self.model.run(connection)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # the web side must outlive a read-model fault
                    log.exception("read_model_restarting", error=repr(exc))
                    await asyncio.sleep(2.0)

        async def on_stop(self) -> None:
            self.follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.follower
            await self.runner.cleanup()
            with contextlib.suppress(KafkaError, OSError, TimeoutError):
                await asyncio.wait_for(self.producer.stop(), 10)
