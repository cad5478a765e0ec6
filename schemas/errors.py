"""The project's exceptions, all rooted in :class:`DipwatchError`."""

from __future__ import annotations

__all__ = [
    "BrokerError",
    "BrokerUnavailable",
    "DipwatchError",
    "InvalidRecord",
    "ReplayAborted",
]


class DipwatchError(Exception):
    """Root of every error the project raises on purpose."""


class InvalidRecord(DipwatchError):
    """A record that does not satisfy the contract; ``reason`` says what and where."""

    def __init__(self, reason: str, fields: tuple[tuple[str, str], ...] = ()) -> None:
        super().__init__(reason)
        self.reason = reason
        #: (field path, message) pairs when the record was an object with bad fields.
        self.fields = fields


class BrokerError(DipwatchError):
    """A Kafka broker could not be started, reached or used."""


class BrokerUnavailable(BrokerError):
    """No broker answered at the configured bootstrap servers in time."""


class ReplayAborted(DipwatchError):
    """A replay stopped part-way; the message says how far it got and how to resume."""
