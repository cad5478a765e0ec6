"""What the bench reads of the processes it starts, from /proc: their memory (resident
sets, peaks) and CPU time, with the worker's children (its fold process) and the broker
it started, if it did."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

__all__ = [
    "BROKER_PIDS",
    "broker_rss_mb",
    "children",
    "cpu_of",
    "cpu_seconds",
    "processes",
    "rss_mb",
    "status_mib",
]

#: The broker process a bench started, by its address (for its memory and CPU figures).
BROKER_PIDS: dict[str, int] = {}


def rss_mb(pid: int, field: str = "VmHWM") -> float:
    """Return a process's peak resident set size (VmHWM), or its current one (VmRSS), in
    MiB, with its children's (the worker's fold process): the sum of their peaks."""
    total = sum(status_mib(one, field) for one in (pid, *children(pid)))
    return total or float("nan")


def status_mib(pid: int, field: str) -> float:
    """One process's ``field`` of /proc/<pid>/status (VmHWM, VmRSS …), in MiB (0 if absent)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return 0.0


def children(pid: int) -> list[int]:
    try:
        listed = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    return [int(child) for child in listed]


def cpu_seconds(pid: int) -> float:
    """A process's CPU time so far (user and system, /proc/<pid>/stat), 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def processes(*worker_pids: int) -> dict[str, int]:
    """How many processes each share of :func:`cpu_of` sums: the workers', their folds'."""
    return {"worker": len(worker_pids), "fold": sum(len(children(p)) for p in worker_pids)}


def cpu_of(bootstrap: str, *worker_pids: int) -> Callable[[], dict[str, float]]:
    """What reads the CPU seconds of the workers' processes, of their children (the fold
    processes) and of the broker this bench started (if it did), each summed: where a
    latency probe's or a drain's cores went (bench/latency.py, bench/run.py). ``processes``
    counts them: the workers' and their fold processes."""
    broker = BROKER_PIDS.get(bootstrap)

    def read() -> dict[str, float]:
        shares = {
            "worker": sum(cpu_seconds(pid) for pid in worker_pids),
            "fold": sum(cpu_seconds(child) for pid in worker_pids for child in children(pid)),
        }
        if broker is not None:
            shares["broker"] = cpu_seconds(broker)
        return shares

    return read


def broker_rss_mb(bootstrap: str) -> float | None:
    """The resident set of the broker this bench started (None for one it did not)."""
    pid = BROKER_PIDS.get(bootstrap)
    return round(rss_mb(pid, "VmRSS"), 1) if pid is not None else None
