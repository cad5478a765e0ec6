"""The offline fold on several cores: the same engine, the dyads shared among processes.

What a dyad's log does depends only on its own records and on the moments the
watermark passes its timers' due times (folds/dyadlog.py). So each process runs an
:class:`~folds.engine.Engine` over the whole log in log order: it ticks the watermark
to every record's time — every timer fires at the record at which it fires in one
engine — and adds only the records of the dyads it owns. Each alert is tagged with
where one engine raises it: the record's index, then (for a timer) its due time and
dyad, then its place among that step's alerts. Merged in that order, the shares give
:func:`~folds.offline.fold_offline`'s alerts, in its order, and its state and
refusals (tests/unit/test_parallel.py).

The processes are forked after the log is read (the decoded events are shared, not
copied or sent); each sends back its alerts as JSON, its dyads' table values and its
refusals.
"""

from __future__ import annotations

import heapq
import multiprocessing
import os
import traceback
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from folds.base import Fold
from folds.engine import Engine, Fired
from folds.offline import ALLOWED_LATENESS_DAYS, fold_offline, table_values
from schemas.codec import encode_alert
from schemas.errors import InvalidRecord
from schemas.events import EPOCH, DiplomaticEvent

__all__ = ["Folded", "cores", "fold_parallel", "owners"]

_US = timedelta(microseconds=1)
#: (record index, 0 timer / 1 the record / 2 closing advance, µs since EPOCH, dyad, place)
_Tag = tuple[int, int, int, str, int]


class Folded(NamedTuple):
    """What the offline fold gives: each fold's table values by dyad, the alerts as JSON
    in the order raised, and the reason each refused record was refused (in log order)."""

    state: dict[str, dict[str, Any]]
    alerts: list[bytes]
    refused: list[str]


def cores() -> int:
    """The cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):  # Linux: the affinity a container or taskset gives
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def owners(dyads: Iterable[str], jobs: int) -> dict[str, int]:
    """Share the dyads (one per event) among ``jobs`` processes, busiest first to the
    least loaded (the busiest pair of a GDELT-like log carries a sixth of the events)."""
    load, owner = [0] * jobs, {}
    for dyad, count in sorted(Counter(dyads).items(), key=lambda x: (-x[1], x[0])):
        least = min(range(jobs), key=load.__getitem__)
        owner[dyad], load[least] = least, load[least] + count
    return owner


def fold_parallel(
    folds: Sequence[Fold[Any]],
    events: Sequence[DiplomaticEvent],
    *,
    jobs: int,
    lateness_days: float = ALLOWED_LATENESS_DAYS,
    until: datetime | None = None,
) -> Folded:
    """:func:`~folds.offline.fold_offline` of ``events`` in ``jobs`` processes (one, or
    where processes cannot be forked: that function, in this process)."""
    if jobs <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        refused: list[tuple[str, str]] = []
        state, alerts = fold_offline(
            folds, events, lateness_days=lateness_days, refused=refused, until=until
        )
        return Folded(state, [encode_alert(a) for a in alerts], [r for _, r in refused])
    dyads = [e.dyad for e in events]  # (a property: made once)
    owner = owners(dyads, jobs)
    mine = [owner[d] for d in dyads]
    context = multiprocessing.get_context("fork")
    pipes, children = [], []
    for job in range(jobs):
        receive, send = context.Pipe(duplex=False)
        args = (send, folds, events, mine, job, lateness_days, until)
        child = context.Process(target=_child, args=args, daemon=True)
        child.start()
        send.close()
        pipes.append(receive)
        children.append(child)
    shares = []
    try:
        for job, receive in enumerate(pipes):
            try:
                result = receive.recv()
            except EOFError:
                raise RuntimeError(f"offline fold: process {job} of {jobs} died") from None
            if isinstance(result, str):
                raise RuntimeError(f"offline fold: process {job} of {jobs} failed:\n{result}")
            shares.append(result)
    finally:
        for child in children:
            child.join(timeout=5)
            if child.is_alive():
                child.kill()
    return _merge(shares)


_Share = tuple[list[tuple[_Tag, bytes]], dict[str, dict[str, Any]], list[tuple[int, str]]]


def _child(send: Any, *share: Any) -> None:
    """A forked process: :func:`_share` of ``share``, sent back (or why it failed)."""
    try:
        send.send(_share(*share))
    except BaseException:
        send.send(traceback.format_exc())
    finally:
        send.close()
        os._exit(0)  # no atexit handlers or buffers of the parent's run twice


def _share(
    folds: Sequence[Fold[Any]],
    events: Sequence[DiplomaticEvent],
    mine: list[int],
    job: int,
    lateness_days: float,
    until: datetime | None,
) -> _Share:
    """One process's share: every tick, the records of the dyads it owns."""
    engine = Engine(folds, lateness_days)
    tagged: list[tuple[_Tag, bytes]] = []
    refused: list[tuple[int, str]] = []
    fired: list[Fired] = []
    for index, event in enumerate(events):
        engine.tick(event.occurred_at, fired)
        if fired:
            _tag_fired(tagged, index, fired)
        if mine[index] != job:
            if engine.found:
                refused.extend((index, why) for _, _, why in engine.set_aside())
            continue
        try:
            alerts = engine.add(event).alerts
        except InvalidRecord as exc:  # TooLate or FoldFailed, as fold_offline refuses them
            refused.extend((index, why) for _, _, why in engine.set_aside())
            refused.append((index, exc.reason))
            continue
        if engine.found:
            refused.extend((index, why) for _, _, why in engine.set_aside())
        for place, alert in enumerate(alerts):
            tagged.append(((index, 1, 0, "", place), encode_alert(alert)))
    engine.settle_all(until, fired)
    refused.extend((len(events), why) for _, _, why in engine.set_aside())
    _tag_fired(tagged, len(events), fired)
    return tagged, table_values(folds, engine.logs), refused


def _tag_fired(tagged: list[tuple[_Tag, bytes]], index: int, fired: list[Fired]) -> None:
    for phase, at, dyad, alerts in fired:
        us = (at - EPOCH) // _US
        for place, alert in enumerate(alerts):
            tagged.append(((index, 2 * phase, us, dyad, place), encode_alert(alert)))
    fired.clear()


def _merge(shares: list[_Share]) -> Folded:
    alerts = [line for _, line in heapq.merge(*(s[0] for s in shares), key=_first)]
    state: dict[str, dict[str, Any]] = {}
    for _, values, _ in shares:
        for name, by_dyad in values.items():
            state.setdefault(name, {}).update(by_dyad)
    refused = sorted(r for s in shares for r in s[2])
    return Folded(state, alerts, [reason for _, reason in refused])


def _first(item: tuple[_Tag, bytes]) -> _Tag:
    return item[0]
