"""The tension fold's parameters (all in event time) and the settings they come from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from folds.weights import ACTOR_WEIGHTS, MODE_WEIGHTS
from schemas.events import DiplomaticEvent

__all__ = ["TensionConfig", "TensionSettings"]


class TensionSettings(Protocol):
    """The settings the tension fold reads (the deployment's settings object has them)."""

    @property
    def half_life_days(self) -> float: ...
    @property
    def baseline_half_life_days(self) -> float: ...
    @property
    def tension_thresholds(self) -> tuple[float, float, float]: ...
    @property
    def tension_hysteresis(self) -> float: ...
    @property
    def spike_ratio(self) -> float: ...
    @property
    def spike_min_points(self) -> float: ...
    @property
    def spike_min_history_days(self) -> float: ...
    @property
    def armed_conflict_lapse_days(self) -> float: ...


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
    #: While the pair is in armed conflict the level does not fall below this band.
    armed_conflict_floor: int = 3  # critical
    #: Armed conflict lapses this long after the last coded use of force.
    armed_conflict_lapse_days: float = 1095.0

    @classmethod
    def from_settings(cls, settings: TensionSettings) -> TensionConfig:
        """Return the configuration the deployment's settings describe."""
        return cls(
            half_life_days=settings.half_life_days,
            baseline_half_life_days=settings.baseline_half_life_days,
            thresholds=settings.tension_thresholds,
            hysteresis=settings.tension_hysteresis,
            spike_ratio=settings.spike_ratio,
            spike_min_points=settings.spike_min_points,
            spike_min_history_days=settings.spike_min_history_days,
            armed_conflict_lapse_days=settings.armed_conflict_lapse_days,
        )

    def weight(self, event: DiplomaticEvent) -> float:
        """Return the event's Goldstein weight scaled by who acts and by its mode."""
        by_actor = self.actor_weights.get(event.actor.kind, 1.0)  # a StrEnum: its str key
        return event.goldstein * by_actor * MODE_WEIGHTS[event.mode]
