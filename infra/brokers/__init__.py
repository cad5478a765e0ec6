"""Kafka-protocol brokers: the embedded Tansu broker, and readiness probes for any."""

from infra.brokers.probe import wait_until_ready
from infra.brokers.tansu import EmbeddedBroker, free_port

__all__ = ["EmbeddedBroker", "free_port", "wait_until_ready"]
