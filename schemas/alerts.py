"""Alert: what the monitor raises on the alert topics (schema version 1)."""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Final, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

__all__ = ["ALERT_ID_NAMESPACE", "Alert", "Severity", "alert_id"]

ALERT_ID_NAMESPACE: Final = uuid.uuid5(uuid.NAMESPACE_URL, "https://dipwatch.org/alerts")


class Severity(StrEnum):
    """How urgently an analyst should look."""

    INFO = "info"
    WARNING = "warning"
    HIGH = "high"
    CRITICAL = "critical"


def alert_id(rule: str, key: str, event_id: str) -> str:
    """Return the deterministic id of the alert ``rule`` raised on ``key`` by ``event_id``."""
    return str(uuid.uuid5(ALERT_ID_NAMESPACE, f"{rule}|{key}|{event_id}"))


class Alert(BaseModel):
    """One alert. ``raised_at`` is log time (the triggering event's ``recorded_at``), so
    replays raise identical alerts; the Kafka record timestamp carries the wall clock."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    alert_id: str
    schema_version: Literal[1] = 1
    rule: str = Field(pattern=r"^[a-z][a-z0-9_.]*$")
    severity: Severity
    dyad: str = Field(pattern=r"^[A-Z]{3}:[A-Z]{3}$")
    at: AwareDatetime
    raised_at: AwareDatetime
    title: str
    detail: str
    figures: dict[str, float | int | str] = Field(default_factory=dict)
    evidence: tuple[str, ...] = Field(min_length=1)

    @property
    def aggregate(self) -> str:
        """The alert topic family this alert belongs to (``tension``, ``summons``…)."""
        return self.rule.split(".", 1)[0]
