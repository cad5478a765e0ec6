"""The end of Faust's table recovery, with the seek before the resume.

At the end of a rebalance's recovery, faust-streaming's ``Recovery.on_recovery_completed``
resumes the stream partitions, *then* seeks them to their committed offsets, while its
fetcher already runs (it read the changelogs). Records fetched from where a partition
was read to before the rebalance can then be delivered after, or instead of, the
records from the committed offset: one record never delivered (a partition handed over
as 967, 969), or a partition delivered from 76 where its commit was 12 (session 14). The
agent's check (streams/continuity.py) stops the worker on such a skip, to be restarted
from its last commit; each such stop costs a restart and another rebalance.

The seek alone left one race: a fetch answered between the seek and the resume was
dropped, the partition's position past it (:func:`seek_again`, after the resume, fetches
those records again).

faust-streaming fixed this order in its path without tables (issue #216, PR #217: seek,
then resume); :func:`on_recovery_completed` is Faust's method with the same order and
the second seek, and nothing else changed. ``tests/unit/test_dependency_seams.py`` fails
if Faust's method changes, so that an upgrade reviews this copy.
"""

from __future__ import annotations

import asyncio
from typing import Any, Final, cast

from aiokafka import TopicPartition
from faust.tables.recovery import Recovery

__all__ = [
    "FAUST_ON_RECOVERY_COMPLETED",
    "on_recovery_completed",
    "seek_again",
    "seek_before_resuming",
]

#: Faust's own method (the seam test compares the copy with it).
FAUST_ON_RECOVERY_COMPLETED: Final = Recovery.on_recovery_completed

_App = Any  # (Faust's name in the method: the copy reads as the original)


async def on_recovery_completed(self: Any, generation_id: int = 0) -> None:
    """Call when active table recovery is completed."""
    consumer = self.app.consumer
    self.log.info("Restore complete!")
    await self.app.on_rebalance_complete.send()
    self._set_recovery_ended()
    # This needs to happen if all goes well
    callback_coros = [
        asyncio.ensure_future(
            table.on_recovery_completed(
                self.actives_for_table[table],
                self.standbys_for_table[table],
            )
        )
        for table in self.tables.values()
    ]
    if callback_coros:
        await asyncio.wait(callback_coros)
    assignment = consumer.assignment()
    if self.app.consumer_generation_id != generation_id:
        self.log.warning(
            f"Recovery rebalancing again app id "
            f"{self.app.consumer_generation_id} param {generation_id}"
        )
        return
    if assignment:
        self.log.info("Seek stream partitions to committed offsets.")
        await self._wait(consumer.perform_seek(), timeout=self.app.conf.broker_request_timeout)
    consumer.resume_partitions({tp for tp in assignment if not self._is_changelog_tp(tp)})
    await seek_again(consumer, {tp for tp in assignment if not self._is_changelog_tp(tp)})
    self.completed.set()
    self.log.dev("Resume stream partitions")
    self.app.flow_control.resume()
    consumer.resume_flow()
    # finally make sure the fetcher is running.
    await cast(_App, self.app)._fetcher.maybe_start()
    self.tables.on_actives_ready()
    if not self.app.assignor.assigned_standbys():
        self.tables.on_standbys_ready()
    self.app.on_rebalance_end()
    self.log.info("Worker ready")


async def seek_again(consumer: Any, resumed: set[Any]) -> None:
    """Seek the resumed stream partitions to their committed offsets once more, below
    Faust's read offsets (not the seek of :meth:`perform_seek`, which moves those too).

    Faust's fetcher runs through the recovery, and its ``getmany`` drops the records of
    a partition not yet resumed: fetched, the position past them, never delivered. The
    seek above rewinds what the recovery's fetches passed, but a fetch answered between
    that seek and the resume is dropped the same way (seen in session 18: a restart's
    records 6-10 of a partition fetched from its commit, 5, all dropped; the worker then
    sat idle, those records never delivered, as long as none followed). Now they are fetched
    again; one delivered since is dropped again by Faust as already read (its read offset
    stays), and a redelivery is no fault (streams/continuity.py). A partition never
    committed (or at 0) is not moved by either seek; it goes back to its beginning."""
    if not resumed:
        return
    committed = await consumer.seek_to_committed()
    fresh = [TopicPartition(tp.topic, tp.partition) for tp in resumed if not committed.get(tp)]
    if fresh:  # (the worker's offset reset is "earliest", streams/app.py)
        await consumer._thread.seek_to_beginning(*sorted(fresh))


def seek_before_resuming() -> None:
    """Have every Faust recovery seek the stream partitions before resuming them."""
    Recovery.on_recovery_completed = on_recovery_completed  # type: ignore[method-assign]
