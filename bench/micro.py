"""``python -m bench offline`` and ``python -m bench decode``: the engine's pure parts,
without a broker, best of three runs each (figures, not pass/fail)."""

from __future__ import annotations

import gc
import json
import time
from collections.abc import Callable
from typing import Any

from bench.generate import Shape, generate
from folds.offline import fold_offline
from folds.registry import build_folds
from infra.settings import Settings
from schemas.codec import decode_event, encode_event, parse_event

__all__ = ["decode_rates", "offline_rate"]


def _best(run: Callable[[], Any], repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best


def offline_rate(shape: Shape) -> str:
    """The fold pipeline alone (offline fold) over the synthetic log, events/s: with the
    collector as dipwatch sets it (``DIPWATCH_GC_THRESHOLD``) and with CPython's own."""
    events = list(generate(shape))
    settings = Settings()
    folds = build_folds(settings)
    alerts = len(fold_offline(folds, events)[1])
    before = gc.get_threshold()
    rates = [0.0, 0.0]
    try:
        for _ in range(2):  # alternated: neither setting always runs on a warmer heap
            for i, threshold in enumerate((before[0], settings.gc_threshold)):
                gc.set_threshold(threshold, *before[1:])
                rate = len(events) / _best(lambda: fold_offline(folds, events))
                rates[i] = max(rates[i], rate)
    finally:
        gc.set_threshold(*before)
    return (
        f"offline fold: {rates[1]:,.0f} events/s with DIPWATCH_GC_THRESHOLD="
        f"{settings.gc_threshold}, {rates[0]:,.0f} with CPython's {before[0]} "
        f"({len(events)} events, {alerts} alerts)"
    )


def decode_rates(shape: Shape) -> str:
    """``decode_event`` beside the careful path (JSON to dict, then validation)."""
    raws = [encode_event(e) for e in generate(shape)]

    def careful_all() -> None:
        for raw in raws:  # results dropped: the decode's cost, not the heap's
            parse_event(json.loads(raw))

    def fast_all() -> None:
        for raw in raws:
            decode_event(raw)

    careful, fast = _best(careful_all), _best(fast_all)
    n = len(raws)
    return (
        f"decode: careful {n / careful:,.0f} records/s, decode_event {n / fast:,.0f} "
        f"records/s ({careful / fast:.2f}x)"
    )
