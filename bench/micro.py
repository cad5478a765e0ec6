"""``python -m bench offline`` and ``python -m bench decode``: the engine's pure parts,
without a broker, best of three runs each (figures, not pass/fail)."""

from __future__ import annotations

import gc
import json
from functools import partial
from typing import Any

from bench.generate import Shape, generate
from bench.machine import best_of
from bench.probe_path import NoOpFold
from folds.base import Fold
from folds.offline import fold_offline
from folds.parallel import fold_parallel
from folds.registry import build_folds
from infra.settings import Settings
from schemas.codec import decode_event, encode_event, parse_event

__all__ = ["decode_rates", "fold_parts", "offline_rate", "shared_rates"]


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
                rate = len(events) / best_of(lambda: fold_offline(folds, events))
                rates[i] = max(rates[i], rate)
    finally:
        gc.set_threshold(*before)
    return (
        f"offline fold: {rates[1]:,.0f} events/s with DIPWATCH_GC_THRESHOLD="
        f"{settings.gc_threshold}, {rates[0]:,.0f} with CPython's {before[0]} "
        f"({len(events)} events, {alerts} alerts)"
    )


def fold_parts(shape: Shape) -> str:
    """Where the offline fold's time goes, µs per event (best of three, the collector as
    dipwatch sets it): each fold's ``apply`` alone over the log (its states kept in a
    dict), the engine with folds that change nothing, and the whole fold. The rest of
    the whole — due times, timers, their alerts — is what the parts leave out."""
    events = list(generate(shape))
    settings = Settings()
    folds = build_folds(settings)
    before = gc.get_threshold()
    gc.set_threshold(settings.gc_threshold, *before[1:])
    try:

        def alone(fold: Fold[Any]) -> None:
            states: dict[str, Any] = {}
            for event in events:
                dyad = event.dyad
                state = states.get(dyad) or fold.initial(dyad)
                states[dyad] = fold.apply(state, event)[0]

        parts = [(f.name, best_of(lambda f=f: alone(f))) for f in folds]  # type: ignore[misc]
        parts.append(
            ("engine", best_of(lambda: fold_offline([NoOpFold(f) for f in folds], events)))
        )
        parts.append(("whole fold", best_of(lambda: fold_offline(folds, events))))
    finally:
        gc.set_threshold(*before)
    per_event = ", ".join(f"{name} {t / len(events) * 1e6:.1f}" for name, t in parts)
    return f"offline fold, µs per event: {per_event} (each fold alone; engine with no-op folds)"


def shared_rates(shape: Shape, jobs: int = 2, repeat: int = 3) -> str:
    """The offline fold as ``replay --offline`` runs it (alerts encoded), in one process
    and with the dyads shared among ``jobs`` (folds/parallel.py), events/s, best of
    ``repeat`` each, the two alternated (neither always runs on a faster machine); the
    log is frozen out of the collector as the replay's loader leaves it. Give it a
    history-sized log: on 20,000 events the fixed costs (the fork, the shares sent back,
    the merge) were a third of the shared run (1.05-1.21x on 2 cores, where 100,000
    events gave 1.60-1.80x; session 21)."""
    events = list(generate(shape))
    folds = build_folds(Settings())
    before = gc.get_threshold()
    gc.set_threshold(Settings().gc_threshold, *before[1:])
    gc.freeze()
    try:
        alerts = {len(fold_parallel(folds, events, jobs=n).alerts) for n in (1, jobs)}
        best = [float("inf"), float("inf")]
        for _ in range(repeat):  # alternated: one timing of each arm a round
            for i, n in enumerate((1, jobs)):
                best[i] = min(best[i], best_of(partial(fold_parallel, folds, events, jobs=n), 1))
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
    rates = [len(events) / t for t in best]
    return (
        f"offline fold shared: 1 process {rates[0]:,.0f} events/s, {jobs} processes "
        f"{rates[1]:,.0f} events/s ({rates[1] / rates[0]:.2f}x; {'/'.join(map(str, alerts))} "
        f"alerts; {len(events):,} events, {shape.dyads:,} pairs)"
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

    careful, fast = best_of(careful_all), best_of(fast_all)
    n = len(raws)
    return (
        f"decode: careful {n / careful:,.0f} records/s, decode_event {n / fast:,.0f} "
        f"records/s ({careful / fast:.2f}x)"
    )
