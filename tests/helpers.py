"""Shared test helpers: event factories and a worker process runner."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from schemas.alerts import Alert
from schemas.codec import parse_event
from schemas.events import DiplomaticEvent

SOURCE = {"publisher": "Test Wire", "title": "A test report", "language": "en"}


def standing(alerts: Iterable[Alert]) -> dict[str, Alert]:
    """The alerts in force after a stream of alerts: each by id (the latest raised), less
    those a withdrawal names — what a subscriber that honours withdrawals holds."""
    held: dict[str, Alert] = {}
    for alert in alerts:
        if alert.withdraws is not None:
            held.pop(alert.withdraws, None)
        else:
            held[alert.alert_id] = alert
    return held


def timeline_values(state: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The timeline changelog values (what the read model reads: each dyad log's
    ``head``) for an offline fold's aggregate ``state``."""
    dyads = sorted({d for values in state.values() for d in values})
    return {d: {"head": {n: state[n][d]["state"] for n in state}} for d in dyads}


def event_dict(**overrides: Any) -> dict[str, Any]:
    """Return a valid event as a dict; keyword arguments replace fields."""
    base: dict[str, Any] = {
        "event_id": "test-1",
        "occurred_at": "2022-10-04T00:00:00Z",
        "date_precision": "day",
        "recorded_at": "2026-11-21T00:00:00Z",
        "actor": {"country": "RUS", "kind": "foreign_ministry"},
        "target": {"country": "KAZ", "kind": "envoy", "name": "Yermek Kosherbayev"},
        "action": "summon_envoy",
        "cameo": "110",
        "envoy": {"name": "Yermek Kosherbayev", "sending_country": "KAZ", "host_country": "RUS"},
        "summary": "Russia summoned Kazakhstan's ambassador.",
        "sources": [SOURCE],
    }
    base.update(overrides)
    return base


def make_event(**overrides: Any) -> DiplomaticEvent:
    """Return a valid DiplomaticEvent; keyword arguments replace fields."""
    return parse_event(event_dict(**overrides))


def retraction(event_id: str, of: DiplomaticEvent, days_after: float = 0.0) -> DiplomaticEvent:
    """A retraction of ``of``, dated as the act it retracts or ``days_after`` it (same
    dyad)."""
    return make_event(
        event_id=event_id,
        occurred_at=(of.occurred_at + timedelta(days=days_after)).isoformat(),
        actor=of.actor.model_dump(),
        target={"country": of.target.country, "kind": "state"},
        action="statement",
        cameo="010",
        envoy=None,
        retracts=of.event_id,
    )


def threat(event_id: str, occurred_at: str = "2022-10-04T00:00:00Z") -> DiplomaticEvent:
    """Return Russia threatening Kazakhstan with force (CAMEO 138, Goldstein -7)."""
    return make_event(
        event_id=event_id,
        occurred_at=occurred_at,
        action="threaten",
        cameo="138",
        envoy=None,
        target={"country": "KAZ", "kind": "state"},
    )


def moved_to_kyrgyzstan(event_id: str, **overrides: Any) -> dict[str, Any]:
    """:func:`event_dict`'s summons re-coded as of Kyrgyzstan's envoy: another pair
    (KGZ:RUS) than the default event's (KAZ:RUS), e.g. as a correction of it."""
    fields: dict[str, Any] = {
        "event_id": event_id,
        "actor": {"country": "RUS", "kind": "foreign_ministry"},
        "target": {"country": "KGZ", "kind": "envoy"},
        "envoy": {"sending_country": "KGZ", "host_country": "RUS"},
    }
    return event_dict(**{**fields, **overrides})


def summons_now(event_id: str, summoner: str, envoy_of: str, name: str) -> dict[str, Any]:
    """Return, as a dict, ``summoner`` summoning ``envoy_of``'s envoy ``name`` right now."""
    now = datetime.now(UTC).replace(microsecond=0).isoformat()
    return event_dict(
        event_id=event_id,
        occurred_at=now,
        recorded_at=now,
        actor={"country": summoner, "kind": "foreign_ministry"},
        target={"country": envoy_of, "kind": "envoy", "name": name},
        envoy={"name": name, "sending_country": envoy_of, "host_country": summoner},
    )


def stop_process(proc: subprocess.Popen[bytes] | None, timeout_s: float = 30) -> None:
    """SIGTERM a process if it still runs (a worker commits on it); SIGKILL after
    ``timeout_s``."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def start_worker(env: dict[str, str], log_path: Path, *args: str) -> subprocess.Popen[bytes]:
    """Start ``dipwatch worker`` as a real process, its output appended to ``log_path``."""
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "dipwatch", "worker", *args],
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )


@dataclass
class Supervised:
    """Exit codes of the runs of a supervised worker that ended (restarts = len), and the
    run under way (``current[0]``)."""

    exits: list[int] = field(default_factory=list)
    current: list[subprocess.Popen[bytes]] = field(default_factory=list)


@contextmanager
def supervised_worker(env: dict[str, str], log_path: Path) -> Iterator[Supervised]:
    """Run ``dipwatch worker`` as docker compose runs it (``restart: unless-stopped``):
    started again whenever it exits, until the context ends; every run logs to
    ``log_path``."""
    runs, stopping = Supervised(), threading.Event()
    current = runs.current
    current.append(start_worker(env, log_path))

    def supervise() -> None:
        while not stopping.wait(0.5):
            code = current[0].poll()
            if code is not None and not stopping.is_set():
                runs.exits.append(code)
                current[0] = start_worker(env, log_path)

    watcher = threading.Thread(target=supervise, daemon=True)
    watcher.start()
    try:
        yield runs
    finally:
        stopping.set()
        watcher.join()
        stop_process(current[0])


@contextmanager
def worker_process(
    env: dict[str, str], log_path: Path, *args: str
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``dipwatch worker`` as a real process; stop it (SIGTERM) on exit."""
    proc = start_worker(env, log_path, *args)
    try:
        yield proc
    finally:
        stop_process(proc)
