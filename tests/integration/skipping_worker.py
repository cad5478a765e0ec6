"""``dipwatch worker`` with a fault made on purpose, for tests/integration/test_stalls.py:
once it has folded the first records of a partition (offsets 0..FOLDED-1), its consumer
is moved past the next ones (to SKIP_TO) without delivering them, as Faust's fetcher did
in session 18 (docs/ARCHITECTURE.md, "No record can stop a worker"). Once: the fault
writes the file named by ``DIPWATCH_TEST_FAULT_FLAG`` and never acts while it exists.

The test publishes the records to skip once the log says ``test_fault_paused``: the
partition is paused (Faust's own pause: what is fetched for it is not delivered) until
its log end reaches SKIP_TO, then moved there and resumed."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any, Final

import faust

from dipwatch.shell import connection_of, load_settings
from infra.connection import Connection
from infra.progress import Progress
from infra.settings import Settings
from infra.topics import Topics
from streams.worker import run_worker

FOLDED: Final = 5
SKIP_TO: Final = 10


def skip_records(flag: Path) -> Any:
    """The fault, as an extension of the worker's app (streams/app.py)."""

    def extend(
        app: faust.App, settings: Settings, connection: Connection, topics: Topics, p: Progress
    ) -> None:
        paused: list[Any] = []
        done = [flag.exists()]  # (read once: the timer runs on the event loop)

        @app.timer(interval=0.1)  # type: ignore[untyped-decorator]
        async def _skip() -> None:
            if done[0]:
                return
            if not paused:
                for tp in app.consumer.assignment():
                    if tp.topic == topics.events and p.next_offsets.get(tp) == FOLDED:
                        app.consumer.pause_partitions([tp])
                        paused.append(tp)
                        print(f"test_fault_paused partition={tp.partition}", flush=True)
                return
            tp = paused[0]
            if (app.consumer.highwater(tp) or 0) >= SKIP_TO:
                await app.consumer.seek(tp, SKIP_TO)
                app.consumer.resume_partitions([tp])
                done[0] = True
                await asyncio.to_thread(flag.write_text, "done")
                print(f"test_fault_skipped to={SKIP_TO}", flush=True)

    return extend


if __name__ == "__main__":
    settings = load_settings()
    flag = Path(os.environ["DIPWATCH_TEST_FAULT_FLAG"])
    run_worker(settings, connection_of(settings), extensions=[skip_records(flag)])
