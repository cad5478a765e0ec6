"""Wait until a broker answers a Kafka metadata request."""

from __future__ import annotations

import asyncio
import logging
import time

from aiokafka import AIOKafkaClient
from aiokafka.errors import KafkaError

from schemas.errors import BrokerUnavailable

__all__ = ["wait_until_ready"]


async def _metadata_once(bootstrap_servers: str, timeout_s: float) -> int:
    client = AIOKafkaClient(
        bootstrap_servers=bootstrap_servers,
        request_timeout_ms=int(timeout_s * 1000),
        connections_max_idle_ms=60_000,
    )
    try:
        await asyncio.wait_for(client.bootstrap(), timeout_s)
        return len(client.cluster.brokers())
    finally:
        await client.close()


async def wait_until_ready(bootstrap_servers: str, timeout_s: float = 20.0) -> int:
    """Return the broker count once a metadata request succeeds; raise
    :class:`BrokerUnavailable` with one clear line after ``timeout_s``."""
    # aiokafka logs every refused connection at ERROR; here a refusal is expected
    # while a broker starts, and the one line that matters is ours.
    quiet = logging.getLogger("aiokafka")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)
    try:
        return await _wait(bootstrap_servers, timeout_s)
    finally:
        quiet.setLevel(level)


async def _wait(bootstrap_servers: str, timeout_s: float) -> int:
    deadline = time.monotonic() + timeout_s
    last: Exception | None = None
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            reason = f" (last error: {last})" if last else ""
            raise BrokerUnavailable(
                f"no Kafka broker answered at {bootstrap_servers} within {timeout_s:g} s{reason}"
            )
        try:
            return await _metadata_once(bootstrap_servers, min(remaining, 5.0))
        except (KafkaError, OSError, TimeoutError) as exc:
            last = exc
            await asyncio.sleep(min(0.2, max(deadline - time.monotonic(), 0)))
