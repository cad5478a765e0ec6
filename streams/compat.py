"""The places the engine bends Faust to its needs, with why.

A Faust table write finds its changelog partition through the stream's *current event*
(a context variable). Inside ``take_events`` batches Faust does not set it, and there is
no public way to write a table value on behalf of a given record. This wrapper sets the
context variable for one write, in this task's context only.

Faust creates its consumer with ``fetch_max_wait_ms=1500`` written into the call, with no
setting. A broker may hold a fetch that long when no data waits (Apache Kafka answers as
soon as data arrives; the embedded broker sleeps half the remaining wait and looks
again), so every hop could wait up to 1.5 s. :func:`set_fetch_wait` sets the wait on the
consumer Faust made, before it starts. ``tests/unit/test_dependency_seams.py`` fails if
Faust or aiokafka changes either seam.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final

from faust.serializers import codecs
from faust.streams import _current_event

from infra import metrics
from infra.logs import get_logger

__all__ = ["TABLE_CODEC", "TolerantJSON", "on_behalf_of", "set_fetch_wait", "tolerant_table"]

log = get_logger(__name__)


@contextmanager
def on_behalf_of(event: Any) -> Iterator[None]:
    """Within the block, Faust's ``current_event()`` is ``event`` (a Faust EventT)."""
    token = _current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        _current_event.reset(token)


class TolerantJSON(codecs.json):
    """Faust's JSON codec for table changelogs, except that a record it cannot read
    becomes ``None`` — a deleted key — with a logged reason and a count, instead of an
    exception that stops table recovery on every restart at the same offset."""

    def _loads(self, s: bytes) -> Any:
        try:
            return super()._loads(s)
        except (ValueError, RecursionError, UnicodeDecodeError, TypeError) as exc:
            metrics.CHANGELOG_SKIPPED.inc()
            log.warning("changelog_record_skipped", reason=f"{type(exc).__name__}: {exc!s:.200}")
            return None


#: The name the tables' changelogs are (de)serialised under.
TABLE_CODEC: Final = "dipwatch-json"
codecs.register(TABLE_CODEC, TolerantJSON())


def tolerant_table(table: Any) -> Any:
    """Make ``table``'s changelog use :class:`TolerantJSON` (before its changelog topic
    is first used: Faust reads these public attributes when it creates it)."""
    table.key_serializer = TABLE_CODEC
    table.value_serializer = TABLE_CODEC
    return table


def set_fetch_wait(wait_ms: int) -> None:
    """Make the worker consumers Faust creates from now on wait at most ``wait_ms`` for
    data in a fetch (aiokafka reads the attribute when the consumer starts)."""
    from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

    original = _ORIGINAL.setdefault("create", AIOKafkaConsumerThread._create_worker_consumer)

    def create(self: Any, transport: Any) -> Any:
        consumer = original(self, transport)
        consumer._fetch_max_wait_ms = wait_ms
        return consumer

    AIOKafkaConsumerThread._create_worker_consumer = create  # type: ignore[method-assign]


_ORIGINAL: dict[str, Any] = {}
