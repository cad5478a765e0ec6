"""``dipwatch demo``: embedded broker, a worker process, a replay, alerts as they come."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time

from dipwatch.admin import prepare_topics
from dipwatch.brokers.tansu import EmbeddedBroker, free_port, port_is_free
from dipwatch.follow import follow_alerts, render_alert
from dipwatch.settings import Settings
from dipwatch.topics import Topics
from replay.loader import bundled_corpus, load_paths
from replay.offline import fold_offline
from replay.publish import Speed, publish_events
from schemas.alerts import Alert
from streams.aggregates import build_folds

__all__ = ["run_demo"]


def _say(message: str) -> None:
    print(message, flush=True)


async def run_demo(settings: Settings, *, exit_after_replay: bool, speed: Speed) -> int:
    """Run the demo; return the exit code (1 if the stream disagrees with the offline fold)."""
    started = time.monotonic()
    embedded: EmbeddedBroker | None = None
    bootstrap = settings.bootstrap_servers
    if not bootstrap:
        embedded = EmbeddedBroker(settings.embedded_port)
        bootstrap = await embedded.start()
        _say(f"embedded broker on {bootstrap} (pid {embedded.pid})")
    worker: asyncio.subprocess.Process | None = None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        topics = Topics(settings.topic_prefix, settings.partitions)
        web_port = settings.web_port if port_is_free(settings.web_port) else free_port()
        await prepare_topics(settings, bootstrap)
        # The worker's own logs would drown the alert lines: warnings and up only.
        env = {
            **os.environ,
            "DIPWATCH_BOOTSTRAP_SERVERS": bootstrap,
            "DIPWATCH_LOG_LEVEL": "warning",
            "DIPWATCH_WEB_ENABLED": "true",
            "DIPWATCH_WEB_PORT": str(web_port),
        }
        worker = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "dipwatch",
            "worker",
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
        )
        _say(f"worker started (pid {worker.pid}); dashboard on http://127.0.0.1:{web_port}/")

        report = load_paths([bundled_corpus()])
        _, expected = fold_offline(
            build_folds(settings),
            [i.event for i in report.events],
            horizon_days=settings.dedup_horizon_days,
        )
        expected_ids = {a.alert_id for a in expected}
        seen: set[str] = set()
        all_in = asyncio.Event()

        def on_alert(alert: Alert) -> None:
            if not seen:
                _say(f"first alert after {time.monotonic() - started:.1f} s")
            seen.add(alert.alert_id)
            _say(render_alert(alert))
            if expected_ids <= seen:
                all_in.set()

        follower = asyncio.create_task(
            follow_alerts(bootstrap, topics.all_alerts, on_alert, start="beginning", stop=stop)
        )
        published = await publish_events(bootstrap, topics.events, report.events, speed=speed)
        _say(
            f"replayed {published} events of the bundled corpus; "
            f"the offline fold predicts {len(expected_ids)} alerts"
        )
        waiter = asyncio.create_task(all_in.wait())
        stopper = asyncio.create_task(stop.wait())
        died = asyncio.create_task(worker.wait())
        await asyncio.wait(
            {waiter, stopper, died}, timeout=180, return_when=asyncio.FIRST_COMPLETED
        )
        if worker.returncode is not None:
            _say(f"the worker exited with code {worker.returncode}")
            stop.set()
        agree = expected_ids <= seen
        _say(
            f"{len(seen & expected_ids)} of {len(expected_ids)} predicted alerts received "
            f"after {time.monotonic() - started:.1f} s" + ("" if agree else " — MISSING ALERTS")
        )
        if exit_after_replay:
            stop.set()
        else:
            _say("monitoring; Ctrl-C to stop")
        await stop.wait()
        await follower
        return 0 if agree else 1
    finally:
        if worker and worker.returncode is None:
            worker.terminate()
            try:
                await asyncio.wait_for(worker.wait(), 30)
            except TimeoutError:
                worker.kill()
        if embedded:
            await embedded.stop()
