"""Create the project's topics from the registry (worker start, replay, compose init)."""

from __future__ import annotations

from collections.abc import Sequence

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from infra.brokers.probe import wait_until_ready
from infra.connection import Connection, as_connection
from infra.logs import get_logger
from infra.settings import Settings
from infra.topics import Topics, TopicSpec

__all__ = ["ensure_topics", "prepare_topics", "project_topics"]

log = get_logger(__name__)


async def ensure_topics(
    target: Connection | str,
    topics: Topics | Sequence[TopicSpec],
    replication_factor: int = 1,
) -> list[str]:
    """Create every topic (of the registry, or these specs) not there yet; return those
    created."""
    specs = topics.specs() if isinstance(topics, Topics) else tuple(topics)
    admin = AIOKafkaAdminClient(**as_connection(target).client_options(), request_timeout_ms=15_000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [s for s in specs if s.name not in existing]
        created = []
        for spec in missing:
            new = NewTopic(
                spec.name, spec.partitions, replication_factor, topic_configs=spec.config
            )
            try:
                await admin.create_topics([new])
            except TopicAlreadyExistsError:
                continue
            except KafkaError as exc:
                # Brokers that refuse some configs (Tansu) still get the topic.
                log.warning("topic_config_refused", topic=spec.name, error=str(exc))
                await admin.create_topics(
                    [NewTopic(spec.name, spec.partitions, replication_factor)]
                )
            created.append(spec.name)
        return created
    finally:
        await admin.close()


def project_topics(settings: Settings) -> tuple[TopicSpec, ...]:
    """Every topic of a deployment: the registry's and Faust's compacted changelogs."""
    topics = Topics.from_settings(settings)
    return (*topics.specs(), *topics.changelog_specs(settings.app_id))


async def prepare_topics(settings: Settings, target: Connection | str) -> list[str]:
    """Wait for the broker, then create every topic of the deployment that is missing
    (worker start, demo, compose's init); return those created."""
    await wait_until_ready(target, settings.connect_timeout_s)
    return await ensure_topics(target, project_topics(settings), settings.replication_factor)
