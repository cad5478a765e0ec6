"""A watchdog for a faust-streaming fault: changelog recovery that waits forever.

After a rebalance, a worker that keeps partitions it already owned re-reads their
changelog (the memory store remembers no offsets). Now and then (2 CI runs of the
scale-out test in 2026-11, rarely on a loaded machine) that recovery receives no record
at all and waits for ever: Faust warns "No event received for active tp … since recovery
start" every five seconds and the partitions are never folded again (the family of
faust-streaming #176, #373, #597). A fresh process recovers the same partitions at
once. So the worker does what a supervisor can act on: when its recovery has received
nothing for ``recovery_stall_s`` while the changelog holds more, it says so (log,
``/healthz``) and exits with code 75; docker compose restarts it (``restart:
unless-stopped``) and at-least-once delivery with the dyad logs' dedup makes the
restart safe.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any, Final

from infra.logs import get_logger
from infra.progress import Progress

__all__ = ["EXIT_RESTART", "STOP_GRACE_S", "restart", "stalled_partitions", "watch_recovery"]

log = get_logger(__name__)

#: The exit code of a worker that asks to be restarted (EX_TEMPFAIL).
EXIT_RESTART: Final = 75


def stalled_partitions(recovery: Any, now: float, limit_s: float) -> list[str]:
    """The changelog partitions Faust's ``recovery`` still needs records of but has
    received none of for more than ``limit_s`` seconds (since recovery began, or since
    the last one)."""
    started = recovery._recovery_started_at
    if not recovery.in_recovery or started is None:
        return []
    received = recovery._active_events_received_at
    return sorted(
        f"{tp.topic}:{tp.partition}"
        for tp, left in recovery.active_remaining().items()
        if left > 0 and now - received.get(tp, started) > limit_s
    )


#: How long the graceful stop may take before the process exits regardless (a worker
#: stuck in recovery may be stuck in its shutdown too).
STOP_GRACE_S: Final = 30.0


def _backstop() -> None:
    log.error("stop_grace_exceeded", limit_s=STOP_GRACE_S, exit_code=EXIT_RESTART)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(EXIT_RESTART)


def _terminate() -> None:
    os.kill(os.getpid(), signal.SIGTERM)  # a graceful stop: the group rebalances at once
    backstop = threading.Timer(STOP_GRACE_S, _backstop)
    backstop.daemon = True
    backstop.start()


def watch_recovery(
    recovery: Any,
    progress: Progress,
    limit_s: float,
    clock: Callable[[], float],
    stop: Callable[[], None] = _terminate,
) -> bool:
    """Check once; if the recovery is stalled, report it and ``stop`` the worker (which
    then exits with :data:`EXIT_RESTART`). True if it did."""
    stalled = stalled_partitions(recovery, clock(), limit_s)
    if not stalled or progress.restart_reason is not None:
        return False
    reason = f"changelog recovery received nothing for {limit_s:g} s: {', '.join(stalled)}"
    log.error("recovery_stalled", partitions=stalled, limit_s=limit_s, exit_code=EXIT_RESTART)
    progress.crashed = progress.restart_reason = reason
    stop()
    return True


def restart(progress: Progress, reason: str, stop: Callable[[], None] = _terminate) -> None:
    """Stop the worker to be restarted (exit code :data:`EXIT_RESTART`), saying why on
    ``/healthz`` until then (once: a second reason does not replace the first)."""
    if progress.restart_reason is not None:
        return
    log.error("worker_restarting", reason=reason, exit_code=EXIT_RESTART)
    progress.crashed = progress.restart_reason = reason
    stop()
