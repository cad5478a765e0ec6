"""The Faust app, built explicitly from the project's settings object."""

from __future__ import annotations

from typing import Any

import faust

from dipwatch.settings import Settings
from dipwatch.topics import DEAD_LETTER_MAX_BYTES

__all__ = ["create_app"]


def create_app(settings: Settings, bootstrap_servers: str) -> faust.App:
    """Return a Faust app with the agents registered; every setting passed explicitly,
    so faust's own unprefixed environment variables cannot override ours."""
    from streams.agents import register_agents

    options: dict[str, Any] = {
        "broker": f"kafka://{bootstrap_servers}",
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
        # A restarted or dead member must not hold partitions for a minute.
        "broker_session_timeout": settings.session_timeout_s,
        "broker_heartbeat_interval": settings.heartbeat_interval_s,
        "broker_rebalance_timeout": max(settings.session_timeout_s * 3, 30.0),
        "broker_request_timeout": max(settings.session_timeout_s * 4, 40.0),
        "stream_wait_empty": False,
        "table_standby_replicas": 0,
        # Faust's own web views stay off: the worker serves its API itself (streams/web.py).
        "web_enabled": False,
    }
    if settings.instance_id:
        options["consumer_group_instance_id"] = settings.instance_id
    app = faust.App(settings.app_id, **options)
    register_agents(app, settings)
    if settings.web_enabled:
        from streams.service import register_web

        register_web(app, settings, bootstrap_servers)
    return app
