"""The worker's fold in a process of its own, beside Faust's.

Faust's per-event machinery takes most of a core; the fold (decode, engine, folds,
alerts, values) took most of the rest of the same thread. Here Faust's process only
moves bytes: each batch's raw records go to this process, which runs the same
:class:`~streams.processing.Batch` over the same :class:`~streams.processing.Partitions`
and answers with what to send — alerts, dead letters, re-keyed records — and, when asked
before a commit, with the changelog records of the values to write back. Requests are
answered in the order they were sent, so a write-back's answer comes after every batch
sent before it.

Messages are pickled tuples, framed by their length, over two pipes (the child's
stdin/stdout stay free for logs). The child is ``python -m streams.fold_process IN OUT``;
its first message is ``(settings, aggregates)``: the aggregates pickled by reference (their
state types and ``build`` functions are imported by name, so any aggregate declared at a
module's top level runs here, not only the registry's).

Requests: ``("items", table_items)`` — the stored values to restore engines from (after
a start or a rebalance); ``("forget",)``; ``("batch", seq, records)`` with records
``(key, value, timestamp_s, partition, offset)``; ``("cut", seq)``; ``("stop",)``.
Answers: ``("done", seq, ([Carried | None per record], seconds folding))``;
``("cut", seq, writes)`` with writes ``(partition, key, raw_key, raw_value or None)``.
"""

from __future__ import annotations

import asyncio
import os
import pickle
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, Final

import orjson

from infra.logs import get_logger
from schemas.codec import encode_alert

if TYPE_CHECKING:  # (imported by the child only: Faust's process does not fold)
    from streams.processing import Partitions

__all__ = ["Carried", "FoldProcess", "Record", "carried", "cut", "fold_batch", "serve"]

log = get_logger(__name__)

_HEADER: Final = struct.Struct("<I")
#: A record as a batch request carries it: (key, value, timestamp_s, partition, offset).
Record = tuple[bytes | None, bytes | None, float | None, int, int]


@dataclass(slots=True)
class Carried:
    """What the worker's process must do for a record (None stands for the common case:
    an event folded with no alert)."""

    verdict: str
    #: (topic, key, value, timestamp_s, rule, alert_id) per alert, in order.
    alerts: list[tuple[str, bytes, bytes, float, str, str]] = field(default_factory=list)
    dyad: str = ""
    at_s: float = 0.0
    event_id: str = ""
    duplicate: str = ""
    reason: str = ""
    kind: str = ""
    #: (key, value, reason, source offset or -1) per record set aside (folded earlier,
    #: found to have done nothing): each goes to the dead-letter topic too.
    set_aside: list[tuple[bytes, bytes, str, int]] = field(default_factory=list)


def carried(outcome: Any, alert_topics: dict[str, str]) -> Carried | None:
    """The :class:`Carried` form of a :class:`~streams.processing.Outcome`."""
    event = outcome.event
    folded = outcome.verdict.value == "folded"
    quiet = not outcome.alerts and not outcome.duplicate and not outcome.set_aside
    if folded and event is not None and quiet:
        return None
    alerts = [
        (
            alert_topics[a.aggregate],
            a.dyad.encode(),
            encode_alert(a),
            a.at.timestamp(),
            a.rule,
            a.alert_id,
        )
        for a in outcome.alerts
    ]
    return Carried(
        outcome.verdict.value,
        alerts,
        event.dyad if event is not None else "",
        event.occurred_at.timestamp() if event is not None else 0.0,
        event.event_id if event is not None else "",
        outcome.duplicate,
        outcome.reason,
        outcome.kind,
        [
            (ref["dyad"].encode(), orjson.dumps(ref), why, -1 if offset is None else offset)
            for ref, offset, why in outcome.set_aside
        ],
    )


def _frame(message: Any) -> tuple[bytes, bytes]:
    """A message as it goes down a pipe: its length, then its pickle."""
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return _HEADER.pack(len(data)), data


def _write(out: IO[bytes], message: Any) -> None:
    out.writelines(_frame(message))
    out.flush()


def _read(inp: IO[bytes]) -> Any:
    header = inp.read(_HEADER.size)
    if len(header) < _HEADER.size:
        raise EOFError("the other process closed its pipe")
    (size,) = _HEADER.unpack(header)
    data = inp.read(size)
    if len(data) < size:
        raise EOFError("the other process closed its pipe mid-message")
    return pickle.loads(data)


def serve(inp: IO[bytes], out: IO[bytes]) -> None:
    """The child's loop: answer requests until ``("stop",)`` or the pipe closes."""
    from faust.serializers import codecs

    from folds.registry import build_folds
    from infra.runtime import tune_gc
    from infra.topics import Topics
    from streams.compat import TABLE_CODEC
    from streams.processing import Partitions
    from streams.restore import stored_items

    settings, aggregates = _read(inp)
    tune_gc(settings.gc_threshold)
    folds = build_folds(settings, aggregates)
    topics = Topics.from_settings(settings, aggregates)
    alert_topics = {name: topics.alerts(name) for name in topics.aggregate_names}
    codec = codecs.get_codec(TABLE_CODEC)
    items: list[tuple[str, Any]] = []
    partitions = Partitions(folds, settings.allowed_lateness_days, lambda: items)
    while True:
        try:
            request = _read(inp)
        except EOFError:
            return
        kind = request[0]
        if kind == "batch":
            started = time.perf_counter()
            done = fold_batch(partitions, request[2], alert_topics)
            _write(out, ("done", request[1], (done, time.perf_counter() - started)))
        elif kind == "cut":
            _write(out, ("cut", request[1], cut(partitions, codec)))
        elif kind == "items":
            items = stored_items(request[1])
        elif kind == "forget":
            partitions.forget()
        elif kind == "stop":
            return
        else:
            raise ValueError(f"unknown request {kind!r}")


def fold_batch(
    partitions: Partitions, records: Sequence[Record], alert_topics: dict[str, str]
) -> list[Carried | None]:
    """A batch's records folded: what the worker's process must do for each."""
    from streams.processing import Batch

    batch = Batch(partitions)
    return [carried(batch.process(*record), alert_topics) for record in records]


def cut(partitions: Partitions, codec: Any) -> list[tuple[int, str, bytes, bytes | None]]:
    """The write-back before a commit: each changelog record, encoded by ``codec`` (the
    tables' own), as ``(partition, key, raw key, raw value or None)``."""
    return [
        (partition, key, codec.dumps(key), None if value is None else codec.dumps(value))
        for partition, key, value in partitions.writes()
    ]


class FoldProcess:
    """The parent's handle on the fold process, on the event loop: requests are written
    and answers read by the loop itself (non-blocking pipes: a full pipe never blocks
    it, and no thread has to wait for the interpreter lock to hand a message over),
    each answer handed to ``on_answer``; ``on_exit(reason)`` runs once if the child ends
    without being asked to. Call it on ``loop``."""

    def __init__(
        self,
        settings: Any,
        aggregates: Sequence[Any],
        loop: asyncio.AbstractEventLoop,
        on_answer: Callable[[Any], None],
        on_exit: Callable[[str], None],
    ) -> None:
        self._config = (settings, tuple(aggregates))
        for aggregate in aggregates:  # refused here, at the start, not in the child
            try:
                pickle.dumps(aggregate)
            except (pickle.PicklingError, AttributeError, TypeError) as exc:
                raise TypeError(
                    f"aggregate {aggregate.name!r} cannot reach the fold process: its state "
                    "type and its build must be importable by name (declared at a module's "
                    f"top level, not a lambda or a local function): {exc}"
                ) from exc
        self.loop, self.on_answer, self.on_exit = loop, on_answer, on_exit
        #: Framed requests sent before the pipe is connected, written once it is.
        self._unsent: list[bytes] | None = []
        self._writer: asyncio.WriteTransport | None = None
        self._stopping = False
        self._ended = False
        self._tasks: set[asyncio.Future[Any]] = set()  # (kept: not collected)
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        to_child, from_parent = os.pipe()
        to_parent, from_child = os.pipe()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streams.fold_process", str(to_child), str(from_child)],
            pass_fds=(to_child, from_child),
            stdin=subprocess.DEVNULL,
        )
        os.close(to_child)
        os.close(from_child)
        self.send(self._config)
        self._keep(self._connect(os.fdopen(from_parent, "wb", 0), os.fdopen(to_parent, "rb", 0)))

    def send(self, request: Any) -> None:
        framed = _frame(request)
        if self._unsent is not None:
            self._unsent.extend(framed)
        elif self._writer is not None and not self._writer.is_closing():
            self._writer.writelines(framed)
        if request[0] == "stop" and self._writer is not None:
            self._writer.close()  # after what it holds is written

    def stop(self) -> None:
        self._stopping = True
        self.send(("stop",))

    async def _connect(self, out: IO[bytes], inp: IO[bytes]) -> None:
        try:
            writer, _ = await self.loop.connect_write_pipe(lambda: _Pipe(self), out)
            await self.loop.connect_read_pipe(lambda: _Answers(self), inp)
        except Exception as exc:  # (no pipe to speak through)
            self.exited(f"the pipes could not be connected: {exc!r:.300}")
            return
        self._writer = writer
        unsent, self._unsent = self._unsent or [], None
        writer.writelines(unsent)
        if self._stopping:
            writer.close()

    def exited(self, why: str) -> None:
        """The pipe ended (or failed): report the child's exit, once, unless stopping."""
        if self._stopping or self._ended:
            return
        self._ended = True
        self._keep(self._report(why))

    async def _report(self, why: str) -> None:
        code = await asyncio.to_thread(self.proc.wait) if self.proc is not None else None
        self.on_exit(f"the fold process ended (exit code {code}): {why}")

    def _keep(self, coroutine: Any) -> None:
        task = asyncio.ensure_future(coroutine, loop=self.loop)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


class _Pipe(asyncio.Protocol):
    """The requests' pipe: a failure to write is the child gone."""

    def __init__(self, owner: FoldProcess) -> None:
        self.owner = owner

    def connection_lost(self, exc: Exception | None) -> None:
        if exc is not None:
            self.owner.exited(f"sending to the fold process failed: {exc!r:.300}")


class _Answers(asyncio.Protocol):
    """The answers' pipe: length-framed pickles, each handed over as soon as whole."""

    def __init__(self, owner: FoldProcess) -> None:
        self.owner = owner
        self._buffer = bytearray()

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        start, end, messages = 0, len(buffer), []
        with memoryview(buffer) as view:
            while end - start >= _HEADER.size:
                (size,) = _HEADER.unpack_from(view, start)
                if end - start - _HEADER.size < size:
                    break
                start += _HEADER.size
                try:
                    messages.append(pickle.loads(view[start : start + size]))
                except Exception as exc:  # an answer that cannot be read: the child is broken
                    self.owner.exited(f"{exc!r:.300}")
                    return
                start += size
        del buffer[:start]
        for message in messages:
            self.owner.on_answer(message)

    def eof_received(self) -> bool:
        why = "the other process closed its pipe"
        self.owner.exited(why + (" mid-message" if self._buffer else ""))
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        if exc is not None:
            self.owner.exited(f"{exc!r:.300}")


def main() -> None:
    """``python -m streams.fold_process IN OUT``: serve on the two inherited pipes."""
    inp = os.fdopen(int(sys.argv[1]), "rb", buffering=1 << 16)
    out = os.fdopen(int(sys.argv[2]), "wb", buffering=1 << 16)
    serve(inp, out)


if __name__ == "__main__":
    # Run as the module by its name, so that what it pickles is
    # ``streams.fold_process.Carried``, not ``__main__.Carried``.
    from streams.fold_process import main as run

    run()
