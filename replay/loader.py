"""Read and validate event files (JSONL, one event a line) before anything is published."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from pathlib import Path

from infra.runtime import no_cycle_collection
from schemas.codec import decode_event
from schemas.errors import InvalidRecord
from schemas.events import (
    ALLOWED_LATENESS_DAYS,
    DiplomaticEvent,
    check_not_future,
    check_replaces,
)

__all__ = ["LoadReport", "Loaded", "Problem", "bundled_corpus", "load_paths", "select"]

_SUFFIXES = (".jsonl", ".ndjson")


@dataclass(frozen=True)
class Loaded:
    """A valid event and where it came from."""

    event: DiplomaticEvent
    path: str
    line: int


@dataclass(frozen=True)
class Problem:
    """An invalid line: ``path:line: reason``, with its original bytes."""

    path: str
    line: int
    reason: str
    raw: bytes

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.reason}"


@dataclass
class LoadReport:
    """The outcome of validating a set of files."""

    events: list[Loaded] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    duplicates: int = 0


def bundled_corpus() -> Path:
    """Return the folder of the bundled historical corpus."""
    return Path(str(resources.files("replay").joinpath("corpus")))


def _files(paths: Sequence[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.suffix in _SUFFIXES))
        elif path.exists():
            found.append(path)
        else:
            raise FileNotFoundError(f"{path}: no such file or folder")
    return found


def _lines(path: Path) -> Iterable[tuple[int, bytes]]:
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            if raw.strip():
                yield number, raw.rstrip(b"\r\n")


def load_paths(
    paths: Sequence[Path],
    *,
    now: datetime | None = None,
    lateness_days: float = ALLOWED_LATENESS_DAYS,
) -> LoadReport:
    """Validate every line of every file; sort the valid events by event time.

    The same event twice (same id and content) is counted once; an id reused with
    different content is a problem at the later line. With ``now`` (the entry's clock),
    an event dated in its future is a problem too; so is a retraction or correction
    the worker could not put in the place of a loaded act it names (``check_replaces``,
    with the worker's ``lateness_days``). The events are all kept: no cyclic collection
    runs while they are read (``infra.runtime.no_cycle_collection``).
    """
    with no_cycle_collection():
        return _load_paths(paths, now, lateness_days)


def _load_paths(paths: Sequence[Path], now: datetime | None, lateness_days: float) -> LoadReport:
    report = LoadReport()
    first_seen: dict[str, Loaded] = {}
    replacing: dict[tuple[str, int], bytes] = {}  # retractions and corrections, as read
    for path in _files(paths):
        for number, raw in _lines(path):
            try:
                event = decode_event(raw)
                if now is not None:
                    check_not_future(event, now)
            except InvalidRecord as exc:
                # file:line already says where; "record: " would say it twice.
                reason = exc.reason.removeprefix("record: ")
                report.problems.append(Problem(str(path), number, reason, raw))
                continue
            here = Loaded(event, str(path), number)
            first = first_seen.get(event.event_id)
            if first is not None:  # contents compared only for an id seen twice
                if first.event.content_digest() == event.content_digest():
                    report.duplicates += 1
                    continue
                report.problems.append(
                    Problem(
                        str(path),
                        number,
                        f"event_id {event.event_id!r} reused with different content "
                        f"(first at {first.path}:{first.line})",
                        raw,
                    )
                )
                continue
            first_seen[event.event_id] = here
            report.events.append(here)
            if event.retracts or event.corrects:
                replacing[here.path, here.line] = raw
    if replacing:
        _refuse_misplaced(report, first_seen, replacing, lateness_days)
    report.events.sort(key=lambda item: (item.event.occurred_at, item.event.event_id))
    return report


def _refuse_misplaced(
    report: LoadReport,
    acts: dict[str, Loaded],
    replacing: dict[tuple[str, int], bytes],
    lateness_days: float,
) -> None:
    """Move to the problems each retraction or correction of a loaded act that the
    worker could not put in its act's place (``check_replaces``: another pair, or dated
    too far from it): it would leave the act standing."""
    kept = []
    for item in report.events:
        event = item.event
        act = acts.get(event.retracts or event.corrects or "")
        if act is not None:
            try:
                check_replaces(event, act.event.dyad, act.event.occurred_at, lateness_days)
            except InvalidRecord as exc:
                reason = f"{exc.reason} (the act: {act.path}:{act.line})"
                raw = replacing[item.path, item.line]
                report.problems.append(Problem(item.path, item.line, reason, raw))
                continue
        kept.append(item)
    report.events = kept


def select(
    events: Iterable[Loaded],
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    dyads: Sequence[str] = (),
) -> list[Loaded]:
    """Keep events with ``since <= occurred_at < until`` on the given dyads."""
    wanted = set(dyads)
    return [
        item
        for item in events
        if (since is None or item.event.occurred_at >= since)
        and (until is None or item.event.occurred_at < until)
        and (not wanted or item.event.dyad in wanted)
    ]
