"""The JSON of frozen models, made once per object.

A dyad log is written back once per touched dyad per batch, and most of what it holds
(the states a batch left alone, the settled base, the standing alerts) is the same
objects as last time. Models here are frozen, so an object's JSON never changes: it is
kept beside the object and made again only for a new one. Kept by identity, so a state
that moves from the head into the settled base (a checkpoint is the head's own states)
keeps the JSON made while it was the head.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel

__all__ = ["Dumps"]


class Dumps:
    """JSON (``model_dump(mode="json")``) of frozen models, by identity."""

    def __init__(self) -> None:
        # id -> (the object, held so that its id is not reused, and its JSON)
        self._made: dict[int, tuple[BaseModel, dict[str, Any]]] = {}

    def __len__(self) -> int:
        return len(self._made)

    def of(self, model: BaseModel) -> dict[str, Any]:
        """``model``'s JSON, made once."""
        made = self._made.get(id(model))
        if made is None:
            made = self._made[id(model)] = (model, model.model_dump(mode="json"))
        return made[1]

    def keep(self, models: Iterable[BaseModel]) -> None:
        """Forget every object but ``models`` (what is gone from the log)."""
        wanted = {id(m) for m in models}
        self._made = {k: v for k, v in self._made.items() if k in wanted}
