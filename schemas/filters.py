"""Which alerts a reader wants: the one filter of ``dipwatch alerts`` and ``/api/alerts``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from schemas.alerts import Alert, Severity

__all__ = ["AlertFilter"]

_SEVERITY_ORDER: Final = list(Severity)


@dataclass(frozen=True)
class AlertFilter:
    """Which alerts to show: by dyad, by rule or aggregate, from a severity up."""

    dyads: frozenset[str] = frozenset()
    rules: frozenset[str] = frozenset()
    min_severity: Severity = Severity.INFO

    def accepts(self, alert: Alert) -> bool:
        """Whether ``alert`` passes every criterion given."""
        return (
            (not self.dyads or alert.dyad in self.dyads)
            and (not self.rules or alert.rule in self.rules or alert.aggregate in self.rules)
            and _SEVERITY_ORDER.index(alert.severity) >= _SEVERITY_ORDER.index(self.min_severity)
        )
