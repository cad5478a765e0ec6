"""Alert: what the monitor raises on the alert topics (schema version 3).

Version 2 added ``when`` (the alert's moment as precisely as the sources give it: a day,
a month, a year or a window) and ``window``; readers print ``when``, never ``at``'s day.
Version 3 adds ``withdraws``: an alert of rule ``<aggregate>.withdrawn`` names the alert
that no longer holds. A v1 or v2 alert is upcast on reading.
"""

from __future__ import annotations

import hashlib
import uuid
from enum import StrEnum
from typing import Any, Final, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from schemas.events import Window

__all__ = [
    "ALERT_ID_NAMESPACE",
    "ALERT_SCHEMA_VERSION",
    "Alert",
    "Severity",
    "alert_id",
    "upcast_alert_v1",
    "withdrawal",
]

ALERT_ID_NAMESPACE: Final = uuid.uuid5(uuid.NAMESPACE_URL, "https://dipwatch.org/alerts")
ALERT_SCHEMA_VERSION: Final = 3


_NAMESPACE_BYTES: Final = ALERT_ID_NAMESPACE.bytes


class Severity(StrEnum):
    """How urgently an analyst should look."""

    INFO = "info"
    WARNING = "warning"
    HIGH = "high"
    CRITICAL = "critical"


def alert_id(rule: str, key: str, event_id: str) -> str:
    """Return the deterministic id of the alert ``rule`` raised on ``key`` by ``event_id``:
    ``str(uuid5(ALERT_ID_NAMESPACE, f"{rule}|{key}|{event_id}"))``, made without the
    ``UUID`` object (whose pure-Python constructor was most of the cost; folds raise
    alerts on every timer)."""
    digest = bytearray(
        hashlib.sha1(_NAMESPACE_BYTES + f"{rule}|{key}|{event_id}".encode()).digest()
    )
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = digest[:16].hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class Alert(BaseModel):
    """One alert. ``raised_at`` is log time (the triggering event's ``recorded_at``), so
    replays raise identical alerts; the Kafka record timestamp carries the wall clock."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    alert_id: str
    schema_version: Literal[3] = ALERT_SCHEMA_VERSION
    rule: str = Field(pattern=r"^[a-z][a-z0-9_.]*$")
    severity: Severity
    dyad: str = Field(pattern=r"^[A-Z]{3}:[A-Z]{3}$")
    #: The event-time instant the alert is about (for ordering and projections).
    at: AwareDatetime
    #: ``at`` as precisely as the sources date it: ``2022-10-05``, ``2022-10``, ``2022``
    #: or ``2022-10-05…2025-08-10``. What every reader prints.
    when: str = Field(min_length=4, max_length=40)
    #: When the triggering act may have happened, if the sources give no day.
    window: Window | None = None
    raised_at: AwareDatetime
    title: str
    detail: str
    figures: dict[str, float | int | str] = Field(default_factory=dict)
    evidence: tuple[str, ...] = Field(min_length=1)
    #: Set on a withdrawal (rule ``<aggregate>.withdrawn``): the id of the alert that no
    #: longer holds — a late event, a retraction or a correction changed its truth.
    withdraws: str | None = None

    @property
    def aggregate(self) -> str:
        """The alert topic family this alert belongs to (``tension``, ``summons``…)."""
        return self.rule.split(".", 1)[0]


def upcast_alert_v1(data: dict[str, Any]) -> dict[str, Any]:
    """Version 1 or 2 -> 3: a v1 alert was dated to the day of ``at``; a v2 alert
    withdraws nothing."""
    if data.get("schema_version") == 1:
        at = data.get("at")
        when = at[:10] if isinstance(at, str) else None
        data = {**data, **({"when": when} if when else {})}
    return {**data, "schema_version": 3}


def withdrawal(alert: Alert) -> Alert:
    """Return the alert that withdraws ``alert``: same topic, dyad and moment, naming it."""
    aggregate = alert.aggregate
    return Alert(
        alert_id=alert_id(f"{aggregate}.withdrawn", alert.dyad, alert.alert_id),
        rule=f"{aggregate}.withdrawn",
        severity=Severity.INFO,
        dyad=alert.dyad,
        at=alert.at,
        when=alert.when,
        window=alert.window,
        raised_at=alert.raised_at,
        title=f"Withdrawn: {alert.title}",
        detail=(
            f"The alert {alert.alert_id} ({alert.rule}, {alert.when}) no longer holds: an "
            "event that arrived late, a retraction or a correction changed what the log says."
        ),
        figures={"withdrawn_rule": alert.rule},
        evidence=alert.evidence,
        withdraws=alert.alert_id,
    )
