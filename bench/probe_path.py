"""``python -m bench offline``'s probe row: the latency probe's records through the fold
process's own code, without a broker — what each record costs the process that is the
busiest at 1,000 events/s, and how much of it each fold (with its alerts) takes."""

from __future__ import annotations

import gc
import time
import zlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final

from faust.serializers import codecs

from bench.latency import probe_pairs, probe_record
from folds.base import Fold, NoTimers
from folds.registry import build_folds
from infra.settings import Settings
from infra.topics import Topics
from streams.compat import TABLE_CODEC
from streams.fold_process import Record, cut, fold_batch
from streams.processing import Partitions

__all__ = ["NoOpFold", "probe_path"]

#: As the latency rows run it: a batch per 5 ms window, a commit (write-back) per 0.25 s.
_BATCH: Final = 5
_CUT_EVERY: Final = 250
_PARTITIONS: Final = 4


class NoOpFold(NoTimers):
    """A fold that takes every event and changes nothing: the engine's own cost."""

    def __init__(self, fold: Fold[Any]) -> None:
        self.fold, self.name, self.state_type = fold, fold.name, fold.state_type

    def initial(self, key: str) -> Any:
        return self.fold.initial(key)

    def apply(self, state: Any, event: Any) -> tuple[Any, list[Any]]:
        return state, []


def _records(count: int) -> list[Record]:
    """The probe's records as a batch request carries them, each partition's offsets
    counting up (the pairs and the event-time step of ``bench latency``)."""
    pairs = probe_pairs()
    base = datetime(2030, 1, 1, tzinfo=UTC)
    offsets = [0] * _PARTITIONS
    out: list[Record] = []
    for i in range(count):
        _, key, value, at_ms = probe_record(pairs, base, i)
        partition = zlib.crc32(key) % _PARTITIONS
        out.append((key, value, at_ms / 1000, partition, offsets[partition]))
        offsets[partition] += 1
    return out


def _run(folds: Sequence[Fold[Any]], records: list[Record], topics: dict[str, str]) -> float:
    """Seconds to fold ``records`` as the fold process does: batch by batch, a write-back
    (encoded) every ``_CUT_EVERY`` records."""
    codec = codecs.get_codec(TABLE_CODEC)
    partitions = Partitions(folds, Settings().allowed_lateness_days, list)
    started = time.perf_counter()
    for start in range(0, len(records), _BATCH):
        fold_batch(partitions, records[start : start + _BATCH], topics)
        if (start + _BATCH) % _CUT_EVERY == 0:
            cut(partitions, codec)
    cut(partitions, codec)
    return time.perf_counter() - started


def probe_path(count: int = 2_000, rounds: int = 6) -> str:
    """µs per probe record through the fold process's path (decode, folds, alerts encoded,
    write-backs): whole, with each fold in turn made a no-op, and with all of them
    no-ops; the variants alternated, best of ``rounds`` each (the collector as dipwatch
    sets it). What a fold costs is the whole less the whole without it. Many short runs
    rather than a few long ones: this machine slows down for seconds at a time, and
    only a best of runs it left alone says what the code costs (2,000 records: 20 a
    pair, past the 8 or so its lateness retains)."""
    settings = Settings()
    folds = build_folds(settings)
    topics_ = Topics.from_settings(settings)
    topics = {name: topics_.alerts(name) for name in topics_.aggregate_names}
    records = _records(count)
    variants: dict[str, list[Fold[Any]]] = {"whole": list(folds)}
    for fold in folds:
        variants[f"no {fold.name}"] = [NoOpFold(f) if f is fold else f for f in folds]
    variants["no fold"] = [NoOpFold(f) for f in folds]
    best = dict.fromkeys(variants, float("inf"))
    before = gc.get_threshold()
    gc.set_threshold(settings.gc_threshold, *before[1:])
    try:
        _run(folds, records, topics)  # warm: imports, caches
        for _ in range(rounds):
            for name, variant in variants.items():
                best[name] = min(best[name], _run(variant, records, topics))
    finally:
        gc.set_threshold(*before)
    us = {name: t / count * 1e6 for name, t in best.items()}
    whole = us["whole"]
    each = ", ".join(f"{f.name} {whole - us[f'no {f.name}']:.0f}" for f in folds)
    return (
        f"probe records through the fold process: {whole:.0f} µs each; the folds with "
        f"their alerts {whole - us['no fold']:.0f} ({each}); decode, engine and "
        f"write-back {us['no fold']:.0f} ({count} records, {_BATCH} a batch, a write-back "
        f"every {_CUT_EVERY})"
    )
