"""Failure modes that need no running broker, or the embedded one itself."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time

import pytest

from infra.brokers.tansu import EmbeddedBroker, free_port
from schemas.errors import BrokerError


def _closed_port() -> int:
    return free_port()


@pytest.mark.parametrize("command", [["worker"], ["replay"]])
def test_without_a_broker_it_says_so_in_one_line_and_exits_nonzero(command: list[str]) -> None:
    env = {
        **os.environ,
        "DIPWATCH_BOOTSTRAP_SERVERS": f"127.0.0.1:{_closed_port()}",
        "DIPWATCH_CONNECT_TIMEOUT_S": "5",
        "DIPWATCH_LOG_FORMAT": "json",
    }
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "dipwatch", *command],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert time.monotonic() - started < 30
    errors = [line for line in result.stderr.splitlines() if "error" in line.lower()]
    assert len(errors) == 1 and "no Kafka broker answered" in errors[0], result.stderr


def test_embedded_broker_refuses_a_taken_port_in_one_line() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(BrokerError, match=f"port {port} on 127.0.0.1 is already taken"):
            asyncio.run(EmbeddedBroker(port).start())


def test_dipwatch_broker_says_its_memory_is_unbounded_when_it_starts() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "dipwatch", "broker", "--port", str(free_port())],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        ready, note = proc.stdout.readline(), proc.stdout.readline()
        assert ready.startswith("embedded broker ready: DIPWATCH_BOOTSTRAP_SERVERS=127.0.0.1:")
        assert "keeps every record in memory until it stops" in note
        assert "MiB" in note and "Apache Kafka" in note
        assert "its reads slow as its topics fill" in note
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    assert "embedded broker stopped" in out


def test_embedded_broker_stops_cleanly_and_leaves_no_process() -> None:
    broker = EmbeddedBroker()
    asyncio.run(broker.start())
    pid = broker.pid
    assert pid is not None and os.path.exists(f"/proc/{pid}")
    asyncio.run(broker.stop())
    assert not os.path.exists(f"/proc/{pid}"), "stopped and reaped"


def test_embedded_broker_dies_with_its_parent_even_on_sigkill() -> None:
    code = (
        "import asyncio,sys;from infra.brokers.tansu import EmbeddedBroker;"
        "b=EmbeddedBroker();asyncio.run(b.start());print(b.pid,flush=True);"
        "import time;time.sleep(60)"
    )
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    parent.kill()
    parent.wait()
    for _ in range(50):
        if not os.path.exists(f"/proc/{child}"):
            break
        time.sleep(0.1)
    assert not os.path.exists(f"/proc/{child}"), "orphan broker left behind"
