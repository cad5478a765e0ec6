"""``dipwatch demo``: embedded broker, a worker process (restarted when it asks to be), a
replay, alerts as they come."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import AsyncIterator

from alerts.follow import follow_alerts, render_alert
from folds.offline import fold_offline
from folds.registry import build_folds
from infra.admin import prepare_topics
from infra.brokers.tansu import MEMORY_WARNING, EmbeddedBroker, free_port, port_is_free
from infra.connection import Connection
from infra.settings import Settings
from infra.topics import Topics
from replay.loader import bundled_corpus, load_paths
from replay.publish import Speed, publish_events
from schemas.alerts import Alert
from streams.watchdog import EXIT_RESTART

__all__ = ["run_demo"]

#: How long the demo waits for the predicted alerts before it reports what is missing.
_WAIT_S = 180


def _say(message: str) -> None:
    print(message, flush=True)


@contextlib.asynccontextmanager
async def _broker(settings: Settings) -> AsyncIterator[Connection]:
    """The configured broker, or the embedded one (plaintext) for the block's duration."""
    if settings.bootstrap_servers:
        yield Connection.from_settings(settings)
        return
    embedded = EmbeddedBroker(settings.embedded_port)
    bootstrap = await embedded.start()
    _say(f"embedded broker on {bootstrap} (pid {embedded.pid}); note: {MEMORY_WARNING}")
    try:
        yield Connection(bootstrap)
    finally:
        await embedded.stop()


class _Worker:
    """The demo's ``dipwatch worker`` process, with the web side on. Like docker compose's
    ``restart: unless-stopped``, it is started again when it exits asking for it (code
    75: its fold process died, or its changelog recovery stalled; streams/watchdog.py)."""

    def __init__(self, connection: Connection, web_port: int) -> None:
        self.web_port = web_port
        # The worker's own logs would drown the alert lines: warnings and up only.
        self.env = {
            **os.environ,
            "DIPWATCH_BOOTSTRAP_SERVERS": connection.bootstrap,
            "DIPWATCH_LOG_LEVEL": "warning",
            # The embedded broker holds a fetch by sleeping, not until data arrives: a
            # short wait is the alert latency (docs/PERFORMANCE.md); the caller's wins.
            "DIPWATCH_FETCH_WAIT_MS": os.environ.get("DIPWATCH_FETCH_WAIT_MS", "10"),
            "DIPWATCH_WEB_ENABLED": "true",
            "DIPWATCH_WEB_PORT": str(web_port),
        }
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "dipwatch",
            "worker",
            env=self.env,
            stdout=asyncio.subprocess.DEVNULL,
        )
        _say(
            f"worker started (pid {self.process.pid}); "
            f"dashboard on http://127.0.0.1:{self.web_port}/"
        )

    async def supervise(self) -> int:
        """Wait for the worker to exit, restarting it while it asks to be; return the
        exit code of the first exit that does not."""
        while True:
            assert self.process is not None
            code = await self.process.wait()
            if code != EXIT_RESTART:
                return code
            _say(f"the worker exited with code {code} to be restarted (its log says why)")
            await self.start()

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 30)
            except TimeoutError:
                self.process.kill()


class _Tally:
    """The alerts received against those the offline fold predicts."""

    def __init__(self, expected: set[str], started: float) -> None:
        self.expected, self.started = expected, started
        self.seen: set[str] = set()
        self.all_in = asyncio.Event()

    def __call__(self, alert: Alert) -> None:
        if not self.seen:
            _say(f"first alert after {time.monotonic() - self.started:.1f} s")
        self.seen.add(alert.alert_id)
        _say(render_alert(alert))
        if self.expected <= self.seen:
            self.all_in.set()

    def report(self) -> bool:
        agree = self.expected <= self.seen
        _say(
            f"{len(self.seen & self.expected)} of {len(self.expected)} predicted alerts received "
            f"after {time.monotonic() - self.started:.1f} s"
            + ("" if agree else " — MISSING ALERTS")
        )
        return agree


async def run_demo(settings: Settings, *, exit_after_replay: bool, speed: Speed) -> int:
    """Run the demo; return the exit code (1 if the stream disagrees with the offline fold)."""
    started = time.monotonic()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    topics = Topics.from_settings(settings)
    web_port = settings.web_port if port_is_free(settings.web_port) else free_port()
    async with _broker(settings) as bootstrap:
        await prepare_topics(settings, bootstrap)
        worker = _Worker(bootstrap, web_port)
        await worker.start()
        ended = asyncio.ensure_future(worker.supervise())
        try:
            report = load_paths([bundled_corpus()])
            events = [i.event for i in report.events]
            _, expected = fold_offline(
                build_folds(settings), events, lateness_days=settings.allowed_lateness_days
            )
            tally = _Tally({a.alert_id for a in expected}, started)
            follower = asyncio.create_task(
                follow_alerts(bootstrap, topics.all_alerts, tally, start="beginning", stop=stop)
            )
            published = await publish_events(bootstrap, topics.events, report.events, speed=speed)
            _say(
                f"replayed {published} events of the bundled corpus; "
                f"the offline fold predicts {len(tally.expected)} alerts"
            )
            await _first_of(tally.all_in.wait(), stop.wait(), asyncio.shield(ended))
            agree = tally.report()
            if exit_after_replay:
                stop.set()
            elif not ended.done():
                _say("monitoring; Ctrl-C to stop")
            await _first_of(stop.wait(), asyncio.shield(ended), limit_s=None)
            if ended.done():
                _say(f"the worker exited with code {ended.result()}")
                stop.set()
            await follower
            return 0 if agree and not ended.done() else 1
        finally:
            ended.cancel()  # (not restarted while it stops)
            await worker.stop()


async def _first_of(*waits: object, limit_s: float | None = _WAIT_S) -> None:
    """Wait until the first of ``waits`` (awaitables) completes, or ``limit_s``."""
    tasks = {asyncio.ensure_future(w) for w in waits}  # type: ignore[call-overload]
    await asyncio.wait(tasks, timeout=limit_s, return_when=asyncio.FIRST_COMPLETED)
    for task in tasks:
        if not task.done():
            task.cancel()
