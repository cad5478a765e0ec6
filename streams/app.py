"""The Faust app, built explicitly from the project's settings object."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import faust

from folds.registry import AGGREGATES, Aggregate, build_folds
from infra.connection import Connection, as_connection
from infra.progress import Progress
from infra.settings import Settings
from infra.topics import DEAD_LETTER_MAX_BYTES, Topics
from streams.agents import register_agents
from streams.compat import drain_before_commit, set_fetch_wait
from streams.seek_first import seek_before_resuming
from streams.stall import guard_stalls

__all__ = ["Extension", "app_options", "create_app"]

#: Something started with the app, e.g. the query side's web service:
#: ``extension(app, settings, connection, topics, progress)``.
Extension = Callable[[faust.App, Settings, Connection, Topics, Progress], None]


def create_app(
    settings: Settings,
    connection: Connection | str,
    *,
    aggregates: Sequence[Aggregate] = AGGREGATES,
    extensions: Sequence[Extension] = (),
    progress: Progress | None = None,
) -> faust.App:
    """Return a Faust app with a table per aggregate and the folding agent registered;
    every setting passed explicitly, so faust's own unprefixed environment variables
    cannot override ours. The fold agent reports to ``progress``."""
    connection = as_connection(connection)
    set_fetch_wait(settings.fetch_wait_ms)
    drain_before_commit()
    seek_before_resuming()
    app = faust.App(settings.app_id, **app_options(settings, connection))
    topics = Topics.from_settings(settings, aggregates)
    progress = progress or Progress()
    progress.highwaters = lambda: _highwaters(app, topics.events)
    build_folds(settings, aggregates)  # a fold that cannot be built fails here, not later
    register_agents(app, settings, connection, topics, aggregates, progress)
    guard_stalls(app, settings, connection, topics.events, progress)
    for extend in extensions:
        extend(app, settings, connection, topics, progress)
    return app


def _highwaters(app: faust.App, topic: str) -> dict[tuple[str, int], int]:
    """The log end of each events-topic partition this worker owns (Faust's public
    consumer API; empty before the first assignment, a partition not fetched yet left
    out)."""
    try:
        owned = [tp for tp in app.consumer.assignment() if tp.topic == topic]
        ends = {(tp.topic, tp.partition): app.consumer.highwater(tp) for tp in owned}
        return {tp: end for tp, end in ends.items() if end is not None}  # None: no fetch yet
    except (AttributeError, KeyError, RuntimeError):  # not started or rebalancing
        return {}


def _credentials(connection: Connection) -> faust.types.auth.CredentialsT | None:
    """Faust's form of the connection's security (its aiokafka driver maps it back)."""
    context = connection.ssl_context()
    if connection.uses_sasl:
        assert connection.password is not None
        return faust.SASLCredentials(
            username=connection.username,
            password=connection.password.get_secret_value(),
            ssl_context=context,
            mechanism=connection.sasl_mechanism,
        )
    return faust.SSLCredentials(context) if context is not None else None


def app_options(settings: Settings, connection: Connection) -> dict[str, Any]:
    """Faust's settings, every one from ours (also the benchmark's Faust ceiling's)."""
    options: dict[str, Any] = {
        "broker": f"kafka://{connection.bootstrap}",
        "broker_credentials": _credentials(connection),
        "store": "memory://",
        "autodiscover": False,
        "datadir": str(settings.data_dir / settings.app_id),
        "topic_partitions": settings.partitions,
        "topic_replication_factor": settings.replication_factor,
        "topic_allow_declare": True,
        # Tables keep str keys and JSON values through changelog recovery.
        "key_serializer": "json",
        "value_serializer": "json",
        "consumer_auto_offset_reset": "earliest",
        # at-least-once with idempotent folds and deterministic alert ids; faust's
        # exactly_once has open bugs and Tansu has no transactions.
        "processing_guarantee": "at_least_once",
        "producer_acks": -1,
        # A dead letter carries the original value (the events topic takes ~1 MiB).
        "producer_max_request_size": DEAD_LETTER_MAX_BYTES,
        "producer_linger": settings.producer_linger_ms / 1000,
        "producer_max_batch_size": settings.producer_batch_bytes,
        "stream_buffer_maxsize": settings.stream_buffer,
        "broker_max_poll_records": settings.max_poll_records or None,
        # A restarted or dead member must not hold partitions for a minute.
        "broker_commit_interval": settings.commit_interval_s,
        "broker_commit_every": settings.commit_every,
        "broker_session_timeout": settings.session_timeout_s,
        "broker_heartbeat_interval": settings.heartbeat_interval_s,
        "broker_rebalance_timeout": max(settings.session_timeout_s * 3, 30.0),
        "broker_request_timeout": max(settings.session_timeout_s * 4, 40.0),
        # At a rebalance, finish the batch in hand (its changelog writes and alerts sent,
        # its offsets committed) before giving partitions up. Without it the old owner's
        # last writes could land on a changelog partition after the new owner had read it.
        "stream_wait_empty": True,
        "table_standby_replicas": 0,
        # Faust's own web views stay off: the query side serves its own (query/web.py).
        "web_enabled": False,
    }
    if settings.instance_id:
        options["consumer_group_instance_id"] = settings.instance_id
    return options
