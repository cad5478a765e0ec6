"""The places the engine bends Faust to its needs, with why.

A Faust table write finds its changelog partition through the stream's *current event*
(a context variable). Inside ``take_events`` batches Faust does not set it, and there is
no public way to write a table value on behalf of a given record. This wrapper sets the
context variable for one write, in this task's context only; the test
``tests/unit/test_dependency_seams.py`` fails if Faust renames or changes it.
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

__all__ = ["TABLE_CODEC", "TolerantJSON", "on_behalf_of", "tolerant_table"]

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
