"""A dyad log stores its standing alerts as what a withdrawal needs plus a digest; a
restored log holds the same alerts and withdraws exactly what was published."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import orjson

from folds.dyadlog import DyadLog
from folds.registry import build_folds
from folds.standing import NOT_STORED, digest
from infra.settings import Settings
from schemas.alerts import withdrawal
from tests.helpers import threat

LATENESS = timedelta(days=30)


def _log() -> DyadLog:
    """KAZ:RUS threatened three times in a week: the level rises twice."""
    log = DyadLog(build_folds(Settings()), "KAZ:RUS", LATENESS)
    for i, day in enumerate((4, 5, 6)):
        log.add(threat(f"t{i}", f"2022-10-{day:02d}T00:00:00Z"))
    assert len(log.standing) >= 2
    return log


def _stored(log: DyadLog) -> dict[str, Any]:
    return orjson.loads(orjson.dumps(log.dump()))  # type: ignore[no-any-return]


def test_a_standing_alert_is_stored_as_what_a_withdrawal_reads_and_a_digest() -> None:
    log = _log()
    stored = _stored(log)
    for entry in stored["standing"]:
        alert = log.standing[entry["alert_id"]]
        assert entry["digest"] == digest(alert)
        assert "detail" not in entry and "figures" not in entry
        assert entry["title"] == alert.title and tuple(entry["evidence"]) == alert.evidence
    whole = {**stored, "standing": [a.model_dump(mode="json") for a in log.standing.values()]}
    assert len(orjson.dumps(stored)) < len(orjson.dumps(whole))


def test_a_restored_log_holds_the_whole_alerts_and_a_value_stored_whole_still_loads() -> None:
    log = _log()
    stored = _stored(log)
    whole = {**stored, "standing": [a.model_dump(mode="json") for a in log.standing.values()]}
    for value in (stored, whole):
        again = DyadLog.load(log.folds, value, LATENESS)
        assert again.standing == log.standing  # whole alerts, equal to the live log's
        assert _stored(again) == stored


def test_an_alert_the_refold_does_not_raise_again_is_withdrawn_as_published() -> None:
    """Its stored digest disagrees with the re-folded alert (the rule's wording changed,
    say): restored from its stored fields, the next re-fold withdraws it — the same
    withdrawal the live log would send — and raises the alert the log now gives."""
    log = _log()
    stored = _stored(log)
    (changed,) = [e for e in stored["standing"] if e["evidence"] == ["t0"]]
    changed["digest"] = "0" * 16
    published = log.standing[changed["alert_id"]]
    again = DyadLog.load(log.folds, stored, LATENESS)
    stub = again.standing[published.alert_id]
    assert stub.detail == NOT_STORED and stub != published
    assert withdrawal(stub) == withdrawal(published)
    unchanged = {i: a for i, a in again.standing.items() if i != published.alert_id}
    assert all(log.standing[i] == a for i, a in unchanged.items())  # digests agreed
    # A late act after t0 (a re-fold from the base): t0's rise is what it was.
    late = again.add(threat("late", "2022-10-05T12:00:00Z"))
    assert withdrawal(published) in late.withdrawn
    assert published in late.raised
    assert again.standing[published.alert_id] == published
    assert all(a.detail != NOT_STORED for a in again.standing.values())
