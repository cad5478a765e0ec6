"""The JSON of frozen models, made once per object.

A dyad log is written back once per touched dyad per batch, and most of what it holds
(the states a batch left alone, the settled base, the standing alerts) is the same
objects as last time. Models here are frozen, so an object's JSON never changes: it is
kept beside the object and made again only for a new one.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Any

from pydantic import BaseModel

__all__ = ["Dumps"]


class Dumps:
    """JSON (``model_dump(mode="json")``) of frozen models, by a key of the caller's."""

    def __init__(self) -> None:
        self._made: dict[Hashable, tuple[BaseModel, dict[str, Any]]] = {}

    def of(self, key: Hashable, model: BaseModel) -> dict[str, Any]:
        """``model``'s JSON; made again only if ``key`` last held another object."""
        last = self._made.get(key)
        if last is None or last[0] is not model:
            last = self._made[key] = (model, model.model_dump(mode="json"))
        return last[1]

    def keep(self, keys: Iterable[Hashable]) -> None:
        """Forget every key but ``keys`` (what is gone from the log)."""
        wanted = set(keys)
        self._made = {k: v for k, v in self._made.items() if k in wanted}
