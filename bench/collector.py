"""``python -m bench gc``: what one full collection of the cyclic garbage collector costs a
dipwatch process — for the objects its imports built, before and after
``infra.runtime.freeze_startup``, and for an engine's state after a synthetic log
(docs/PERFORMANCE.md, "Session 17"). Each figure is the second of two collections in a
row, best of three."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
import time

from bench.generate import Shape, generate
from folds.engine import Engine
from folds.offline import ALLOWED_LATENESS_DAYS
from folds.registry import build_folds
from infra.runtime import freeze_startup
from infra.settings import Settings

__all__ = ["collection_line", "full_collection_ms"]

#: Run in a fresh interpreter: the worker's imports, a full collection, then frozen.
_IMPORTS = """
import gc, json
import streams.worker, streams.agents, streams.fold_process
from bench.collector import full_collection_ms
from infra.runtime import freeze_startup
before = (len(gc.get_objects()), full_collection_ms())
freeze_startup()
print(json.dumps([before, (len(gc.get_objects()), full_collection_ms())]))
"""


def full_collection_ms() -> float:
    """One full collection after another, best of three, in ms."""
    best = float("inf")
    for _ in range(3):
        gc.collect()
        started = time.perf_counter()
        gc.collect()
        best = min(best, time.perf_counter() - started)
    return best * 1000


def _imports() -> list[tuple[int, float]]:
    out = subprocess.run(
        [sys.executable, "-c", _IMPORTS], capture_output=True, text=True, check=True
    ).stdout
    return [(int(n), float(ms)) for n, ms in json.loads(out)]


def _state(shape: Shape) -> tuple[int, float]:
    """An engine's state after ``shape``'s log, this process's start-up heap frozen."""
    events = list(generate(shape))
    folds = build_folds(Settings())
    freeze_startup()  # the imports and the log itself: only the state is left
    try:
        engine = Engine(folds, ALLOWED_LATENESS_DAYS)
        for event in events:
            engine.tick(event.occurred_at)
            engine.add(event)
        return len(gc.get_objects()), full_collection_ms()
    finally:
        gc.unfreeze()


def collection_line(shape: Shape) -> str:
    """The figures, one line."""
    (n0, ms0), (n1, ms1) = _imports()
    n2, ms2 = _state(shape)
    return (
        f"full collection: the worker's imports {ms0:.1f} ms "
        f"({n0:,} objects), {ms1:.2f} ms once frozen ({n1:,}); an engine's state after "
        f"{shape.events:,} events on {shape.dyads:,} pairs {ms2:.1f} ms ({n2:,} objects)"
    )
