"""Run the Faust worker: check the broker first, create topics, then hand over to Faust."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Sequence

import faust

from infra.admin import prepare_topics
from infra.connection import Connection, as_connection
from infra.logs import get_logger
from infra.progress import Progress
from infra.settings import Settings
from streams.app import Extension, create_app
from streams.watchdog import EXIT_RESTART, watch_recovery

__all__ = ["faust_worker", "new_loop", "run_worker"]

log = get_logger(__name__)


def new_loop(uvloop: bool) -> asyncio.AbstractEventLoop:
    """uvloop's event loop where it is installed and wanted (Faust's per-event machinery
    is the worker's ceiling, and much of it is the loop); asyncio's otherwise."""
    if uvloop:
        try:
            import uvloop as libuv
        except ImportError:
            log.warning("uvloop_unavailable")
        else:
            return libuv.new_event_loop()
    return asyncio.new_event_loop()


def run_worker(
    settings: Settings,
    connection: Connection | str,
    *,
    idle_timeout_s: float | None = None,
    max_runtime_s: float | None = None,
    extensions: Sequence[Extension] = (),
) -> None:
    """Run until SIGINT/SIGTERM, or until idle for ``idle_timeout_s`` or past
    ``max_runtime_s``; raise ``BrokerUnavailable`` if the broker does not answer."""
    loop = new_loop(settings.uvloop)
    asyncio.set_event_loop(loop)
    loop.run_until_complete(prepare_topics(settings, connection))
    (settings.data_dir / settings.app_id).mkdir(parents=True, exist_ok=True)
    progress = Progress()
    app = create_app(settings, connection, extensions=extensions, progress=progress)
    started = time.monotonic()

    if idle_timeout_s is not None or max_runtime_s is not None:

        @app.timer(interval=0.5)  # type: ignore[untyped-decorator]
        async def _bounded() -> None:
            now = time.monotonic()
            last = progress.last_batch_at or started
            if (max_runtime_s is not None and now - started > max_runtime_s) or (
                idle_timeout_s is not None and now - last > idle_timeout_s
            ):
                log.info("worker_bounded_stop", runtime_s=round(now - started, 1))
                os.kill(os.getpid(), signal.SIGTERM)

    @app.timer(interval=5.0)  # type: ignore[untyped-decorator]
    async def _recovery_watchdog() -> None:
        recovery = app.tables.recovery  # type: ignore[attr-defined]  # TableManager has it
        watch_recovery(recovery, progress, settings.recovery_stall_s, time.monotonic)

    log.info(
        "worker_starting",
        bootstrap=as_connection(connection).bootstrap,
        security=as_connection(connection).security_protocol,
        app_id=settings.app_id,
        prefix=settings.topic_prefix,
    )
    worker = faust_worker(app, loop)
    try:
        worker.execute_from_commandline()
    except SystemExit:
        if progress.restart_reason is not None:
            raise SystemExit(EXIT_RESTART) from None
        raise


def faust_worker(app: faust.App, loop: asyncio.AbstractEventLoop) -> faust.Worker:
    """Faust's worker, without its terminal spinner: to spin on every log record, the
    spinner lowers the root logger to DEBUG, so aiokafka and Faust built a log record
    for every message sent (5 % of the worker's CPU at full load, measured with py-spy)
    only for the handlers to drop it. Our own lines go through structlog as before."""
    worker = faust.Worker(app, loop=loop, loglevel="WARNING", quiet=True, redirect_stdouts=False)
    worker.spinner = None
    return worker
