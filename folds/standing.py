"""How a dyad log stores its standing alerts: what a withdrawal needs, and a digest.

The standing alerts of a dyad (those of its retained period) are in its value so that a
restored log withdraws exactly what was published when a late event changes their
truth. A withdrawal (``schemas.alerts.withdrawal``) reads only the alert's id, rule,
moment (``at``, ``when``, ``window``, ``raised_at``), title and evidence; the detail,
the figures and the severity — most of an alert's bytes, a whole event summary in the
detail — are stored as a digest of the whole alert instead.

On restore the log re-folds its retained events, raising the alerts of that period
again. A stored alert whose digest the re-folded alert of its id matches is that alert,
whole. One that does not — the code that raised it has changed since, or a defect made
the two paths differ — is restored as stored, with no detail or figures: enough to be
withdrawn, and unequal to anything a fold raises, so the next re-fold withdraws it and
raises what the log now says, as it did when the whole alert was stored. Values stored
with whole alerts (before session 10) load as before.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any, Final

from schemas.alerts import Alert, Severity

__all__ = ["compact", "digest", "restore"]

#: What ``withdrawal`` reads of an alert (besides the dyad, the log's own).
_KEPT: Final = ("alert_id", "rule", "at", "when", "window", "raised_at", "title", "evidence")
#: The detail of an alert restored from its stored fields alone (no fold writes this).
NOT_STORED: Final = "(restored for withdrawal: its detail and figures were not stored)"


def digest(alert: Alert) -> str:
    """A digest of the whole alert (its JSON)."""
    return hashlib.blake2b(alert.model_dump_json().encode(), digest_size=8).hexdigest()


def compact(alert: Alert, made: Mapping[str, Any]) -> dict[str, Any]:
    """What is stored of ``alert``, from ``made``: its JSON (``model_dump(mode="json")``)."""
    kept = {name: made[name] for name in _KEPT}
    kept["digest"] = digest(alert)
    return kept


def restore(
    stored: Iterable[Mapping[str, Any]], dyad: str, refolded: Mapping[str, Alert]
) -> list[Alert]:
    """The standing alerts of a stored value, given the alerts the re-fold raised by id."""
    restored = []
    for entry in stored:
        if "digest" not in entry:  # stored whole (before session 10)
            restored.append(Alert.model_validate(entry))
            continue
        again = refolded.get(entry["alert_id"])
        if again is not None and digest(again) == entry["digest"]:
            restored.append(again)
            continue
        fields = {name: entry[name] for name in _KEPT}
        restored.append(
            Alert.model_validate(
                {**fields, "dyad": dyad, "severity": Severity.INFO, "detail": NOT_STORED}
            )
        )
    return restored
