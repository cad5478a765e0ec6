"""Wait until a broker answers a Kafka metadata request."""

from __future__ import annotations

import asyncio
import logging
import ssl
import time

from aiokafka import AIOKafkaClient
from aiokafka.conn import create_conn
from aiokafka.errors import (
    AuthenticationFailedError,
    KafkaConnectionError,
    KafkaError,
    SaslAuthenticationFailed,
)

from infra.connection import Connection, as_connection
from schemas.errors import BrokerError, BrokerUnavailable

__all__ = ["wait_until_ready"]


async def _metadata_once(target: Connection, timeout_s: float) -> int:
    client = AIOKafkaClient(
        **target.client_options(),
        request_timeout_ms=int(timeout_s * 1000),
        connections_max_idle_ms=60_000,
    )
    try:
        await asyncio.wait_for(client.bootstrap(), timeout_s)
        return len(client.cluster.brokers())
    except KafkaConnectionError:
        if target.security_protocol != "PLAINTEXT":
            await _diagnose(target, timeout_s)  # say why, if it is the credentials or TLS
        raise
    finally:
        await client.close()


async def _diagnose(target: Connection, timeout_s: float) -> None:
    """Connect to the first bootstrap server directly: aiokafka's bootstrap reports only
    'unable to bootstrap', while a single connection raises the real error (a refused
    password, a certificate that does not verify)."""
    host, _, port = target.bootstrap.split(",")[0].strip().rpartition(":")
    options = target.client_options()
    del options["bootstrap_servers"]
    try:
        conn = await asyncio.wait_for(create_conn(host, int(port), **options), timeout_s)
    except (AuthenticationFailedError, SaslAuthenticationFailed, ssl.SSLCertVerificationError):
        raise
    except (KafkaError, OSError, TimeoutError, ValueError):
        return  # not a security problem: the caller retries
    conn.close()


async def wait_until_ready(target: Connection | str, timeout_s: float = 20.0) -> int:
    """Return the broker count once a metadata request succeeds; raise
    :class:`BrokerUnavailable` with one clear line after ``timeout_s``, or at once
    :class:`BrokerError` when the broker refuses the credentials (a retry cannot help)."""
    # aiokafka logs every refused connection at ERROR; here a refusal is expected
    # while a broker starts, and the one line that matters is ours.
    quiet = logging.getLogger("aiokafka")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)
    try:
        return await _wait(as_connection(target), timeout_s)
    finally:
        quiet.setLevel(level)


async def _wait(target: Connection, timeout_s: float) -> int:
    deadline = time.monotonic() + timeout_s
    last: Exception | None = None
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            reason = f" (last error: {last})" if last else ""
            raise BrokerUnavailable(
                f"no Kafka broker answered at {target.bootstrap} within {timeout_s:g} s{reason}"
            )
        try:
            return await _metadata_once(target, min(remaining, 5.0))
        except (AuthenticationFailedError, SaslAuthenticationFailed) as exc:
            raise BrokerError(
                f"the broker at {target.bootstrap} refused the credentials of "
                f"{target.username!r} ({target.sasl_mechanism}): {exc}"
            ) from None
        except ssl.SSLCertVerificationError as exc:
            # Retrying cannot make a certificate verify; a handshake cut short by a
            # starting broker (another SSLError) is retried like a refused connection.
            raise BrokerError(f"TLS with {target.bootstrap} failed: {exc}") from None
        except (KafkaError, OSError, TimeoutError) as exc:
            last = exc
            await asyncio.sleep(min(0.2, max(deadline - time.monotonic(), 0)))
