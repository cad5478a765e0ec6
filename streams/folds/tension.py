"""Tension per dyad: Goldstein-weighted, exponentially decayed in event time.

See docs/TENSION.md for the formula, its parameters and the alert rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

from schemas.alerts import Alert, Severity, alert_id
from schemas.events import DiplomaticEvent
from streams.folds.base import StateModel
from streams.folds.decay import decayed_value, term

__all__ = ["ACTOR_WEIGHTS", "LEVELS", "TensionConfig", "TensionFold", "TensionState"]

#: Weight of an act by the kind of body that acts; states and their organs count fully.
ACTOR_WEIGHTS: Final = {
    "head_of_state": 1.0,
    "government": 1.0,
    "foreign_ministry": 1.0,
    "envoy": 1.0,
    "military": 1.0,
    "state": 1.0,
    "legislator": 0.5,
    "state_body": 0.5,
    "state_media": 0.5,
    "media": 0.25,
    "civil_society": 0.25,
    "business": 0.25,
}

#: Level names by band; band 0 is calm.
LEVELS: Final = ("calm", "elevated", "high", "critical")
_RISE_SEVERITY: Final = (Severity.INFO, Severity.WARNING, Severity.HIGH, Severity.CRITICAL)


@dataclass(frozen=True)
class TensionConfig:
    """Parameters of the tension score and its alerts (all in event time)."""

    half_life_days: float = 30.0
    baseline_half_life_days: float = 365.0
    thresholds: tuple[float, float, float] = (6.0, 12.0, 24.0)
    hysteresis: float = 0.75
    spike_ratio: float = 3.0
    spike_min_points: float = 6.0
    spike_min_history_days: float = 60.0
    #: How much an act weighs by who acts: a TV presenter's tirade is not a note verbale.
    actor_weights: dict[str, float] = field(default_factory=lambda: dict(ACTOR_WEIGHTS))


class TensionState(StateModel):
    """Exact decayed sums (as decimal strings) plus what the alert rules remember."""

    dyad: str
    conflict_sum: str = "0"
    cooperation_sum: str = "0"
    baseline_sum: str = "0"
    events: int = 0
    first_at: datetime | None = None
    as_of: datetime | None = None
    band: int = 0
    spiking: bool = False


class TensionFold:
    """The tension aggregate: ``apply(state, event) -> (state, alerts)``."""

    name = "tension"
    state_type = TensionState

    def __init__(self, config: TensionConfig | None = None) -> None:
        self.config = config or TensionConfig()

    def initial(self, key: str) -> TensionState:
        """Return the state of a dyad with no events."""
        return TensionState(dyad=key)

    def scores(self, state: TensionState, at: datetime | None = None) -> dict[str, float]:
        """Return conflict, cooperation, net and baseline, decayed to ``at`` (default as_of)."""
        when = at or state.as_of
        if when is None:
            return {"conflict": 0.0, "cooperation": 0.0, "net": 0.0, "baseline": 0.0}
        cfg = self.config
        conflict = decayed_value(int(state.conflict_sum), when, cfg.half_life_days)
        cooperation = decayed_value(int(state.cooperation_sum), when, cfg.half_life_days)
        # The long-half-life sum, rescaled to the short window's units: the level the
        # short score would average at if the dyad's history were steady.
        baseline = decayed_value(int(state.baseline_sum), when, cfg.baseline_half_life_days)
        baseline *= cfg.half_life_days / cfg.baseline_half_life_days
        return {
            "conflict": round(conflict, 6),
            "cooperation": round(cooperation, 6),
            "net": round(cooperation - conflict, 6),
            "baseline": round(baseline, 6),
        }

    def apply(
        self, state: TensionState, event: DiplomaticEvent
    ) -> tuple[TensionState, list[Alert]]:
        """Add the event's weight; raise level and spike alerts at the dyad's clock."""
        cfg = self.config
        before = self.scores(state, max(filter(None, (state.as_of, event.occurred_at))))
        w = event.goldstein * cfg.actor_weights.get(event.actor.kind.value, 1.0)
        conflict, cooperation, baseline = (
            int(state.conflict_sum),
            int(state.cooperation_sum),
            int(state.baseline_sum),
        )
        if w < 0:
            conflict += term(w, event.occurred_at, cfg.half_life_days)
            baseline += term(w, event.occurred_at, cfg.baseline_half_life_days)
        else:
            cooperation += term(w, event.occurred_at, cfg.half_life_days)
        as_of = max(filter(None, (state.as_of, event.occurred_at)))
        first_at = min(filter(None, (state.first_at, event.occurred_at)))
        new = state.model_copy(
            update={
                "conflict_sum": str(conflict),
                "cooperation_sum": str(cooperation),
                "baseline_sum": str(baseline),
                "events": state.events + 1,
                "first_at": first_at,
                "as_of": as_of,
            }
        )
        now = self.scores(new)
        alerts: list[Alert] = []
        band = self._band(state.band, now["conflict"])
        if band != state.band:
            alerts.append(self._level_alert(new, event, state.band, band, now))
        spiking = self._spiking(state, new, before, now)
        if spiking and not state.spiking:
            alerts.append(self._spike_alert(new, event, before, now))
        return new.model_copy(update={"band": band, "spiking": spiking}), alerts

    def _band(self, band: int, conflict: float) -> int:
        thresholds = self.config.thresholds
        risen = sum(1 for t in thresholds if conflict >= t)
        if risen > band:
            return risen
        # Fall one band at a time, and only once clearly below: no flapping at a line.
        while band > 0 and conflict < thresholds[band - 1] * self.config.hysteresis:
            band -= 1
        return band

    def _spiking(
        self, old: TensionState, new: TensionState, before: dict[str, float], now: dict[str, float]
    ) -> bool:
        cfg = self.config
        baseline = before["baseline"]
        ratio = now["conflict"] / baseline if baseline > 0 else float("inf")
        if old.spiking:
            return now["conflict"] >= cfg.spike_min_points and ratio >= cfg.spike_ratio / 2
        history = (new.as_of - new.first_at) if new.as_of and new.first_at else timedelta(0)
        return (
            history >= timedelta(days=cfg.spike_min_history_days)
            and now["conflict"] - before["conflict"] > 0
            and now["conflict"] >= cfg.spike_min_points
            and ratio >= cfg.spike_ratio
        )

    def _level_alert(
        self, state: TensionState, event: DiplomaticEvent, old: int, new: int, now: dict[str, float]
    ) -> Alert:
        rising = new > old
        rule = "tension.level_up" if rising else "tension.level_down"
        verb = "rose" if rising else "eased"
        return Alert(
            alert_id=alert_id(rule, state.dyad, event.event_id),
            rule=rule,
            severity=_RISE_SEVERITY[new] if rising else Severity.INFO,
            dyad=state.dyad,
            at=state.as_of or event.occurred_at,
            raised_at=event.recorded_at,
            title=f"{state.dyad} tension {verb} to {LEVELS[new]}",
            detail=(
                f"Decayed conflict score {now['conflict']:.1f} (half-life "
                f"{self.config.half_life_days:g} days) moved the dyad from {LEVELS[old]} to "
                f"{LEVELS[new]} after: {event.summary}"
            ),
            figures={**now, "from_level": LEVELS[old], "to_level": LEVELS[new]},
            evidence=(event.event_id,),
        )

    def _spike_alert(
        self,
        state: TensionState,
        event: DiplomaticEvent,
        before: dict[str, float],
        now: dict[str, float],
    ) -> Alert:
        rule = "tension.spike"
        return Alert(
            alert_id=alert_id(rule, state.dyad, event.event_id),
            rule=rule,
            severity=Severity.WARNING,
            dyad=state.dyad,
            at=state.as_of or event.occurred_at,
            raised_at=event.recorded_at,
            title=f"{state.dyad} conflict spike",
            detail=(
                f"Conflict score {now['conflict']:.1f} is at least {self.config.spike_ratio:g}x "
                f"the dyad's own baseline {before['baseline']:.1f}, after: {event.summary}"
            ),
            figures={**now, "baseline_before": before["baseline"]},
            evidence=(event.event_id,),
        )
