"""The one place the engine reaches into Faust's internals, with why.

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
from typing import Any

from faust.streams import _current_event

__all__ = ["on_behalf_of"]


@contextmanager
def on_behalf_of(event: Any) -> Iterator[None]:
    """Within the block, Faust's ``current_event()`` is ``event`` (a Faust EventT)."""
    token = _current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        _current_event.reset(token)
