"""Tension per dyad: Goldstein-weighted, exponentially decayed in event time.

See docs/TENSION.md for the formula, its parameters and the alert rules.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Final

from folds.base import event_alert, timer_alert, window_end
from folds.decay import EPOCH, UNITS_PER_POINT, Instant, instants
from folds.tension_config import TensionConfig, TensionSettings
from folds.tension_state import TensionState
from folds.weights import ACTOR_WEIGHTS, FORCE_ROOTS, MODE_WEIGHTS, TRUCE_CODES
from schemas.alerts import Alert, Severity
from schemas.dating import LATEST, Window
from schemas.events import DiplomaticEvent, Mode

__all__ = [
    "ACTOR_WEIGHTS",
    "LEVELS",
    "MODE_WEIGHTS",
    "TensionConfig",
    "TensionFold",
    "TensionSettings",
    "TensionState",
]

#: A reading of a dyad at an instant: its decayed conflict score and its baseline.
Reading = tuple[float, float]
#: Placeholder of :meth:`TensionFold._instants`' cache before its first instant.
_NO_INSTANTS: Final = (Instant(0.0, 0, 1.0, 1.0), Instant(0.0, 0, 1.0, 1.0))

#: Level names by band; band 0 is calm.
LEVELS: Final = ("calm", "elevated", "high", "critical")
_RISE_SEVERITY: Final = (Severity.INFO, Severity.WARNING, Severity.HIGH, Severity.CRITICAL)


class TensionFold:
    """The tension aggregate: ``apply(state, event) -> (state, alerts)``."""

    name = "tension"
    state_type = TensionState

    def __init__(self, config: TensionConfig | None = None) -> None:
        self.config = config or TensionConfig()
        self._lapse = timedelta(days=self.config.armed_conflict_lapse_days)
        self._min_history = timedelta(days=self.config.spike_min_history_days)
        #: The baseline's sum read in the short half-life's units (:meth:`scores` says why).
        self._rescale = self.config.half_life_days / self.config.baseline_half_life_days
        self._half_lives = (self.config.half_life_days, self.config.baseline_half_life_days)
        #: The last instant split (:meth:`_instants`): a cache, the result is the same.
        self._last: tuple[datetime | None, tuple[Instant, Instant]] = (None, _NO_INSTANTS)

    def initial(self, key: str) -> TensionState:
        """Return the state of a dyad with no events."""
        return TensionState(dyad=key)

    def scores(self, state: TensionState, at: datetime | None = None) -> dict[str, float]:
        """Return conflict, cooperation, net and baseline, decayed to ``at`` (default as_of)."""
        when = at or state.as_of
        if when is None:
            return {"conflict": 0.0, "cooperation": 0.0, "net": 0.0, "baseline": 0.0}
        short, long = self._instants(when)
        conflict = short.value(state.conflict_sum)
        cooperation = short.value(state.cooperation_sum)
        # The long-half-life sum, rescaled to the short window's units: the level the
        # short score would average at if the dyad's history were steady.
        baseline = long.value(state.baseline_sum) * self._rescale
        return {
            "conflict": round(conflict, 6),
            "cooperation": round(cooperation, 6),
            "net": round(cooperation - conflict, 6),
            "baseline": round(baseline, 6),
        }

    def apply(
        self, state: TensionState, event: DiplomaticEvent
    ) -> tuple[TensionState, list[Alert]]:
        """Add the event's weight; raise a level or spike alert if the event lifts it.

        A fall is decay, not an event: :meth:`due` says when the score crosses the line
        below the band, and :meth:`advance` lowers the band then, in event time.
        """
        cfg = self.config
        at, as_of = event.occurred_at, state.as_of
        clock = at if as_of is None or at >= as_of else as_of
        conflict, cooperation, baseline = (
            state.conflict_sum,
            state.cooperation_sum,
            state.baseline_sum,
        )
        # Each instant split once: the clock's for both readings, the event's for its
        # terms (the same when the event is the latest, as it mostly is).
        at_clock = self._instants(clock)
        at_event = at_clock if at == clock else self._instants(at)
        w = cfg.weight(event)
        late_at, excess = window_end(event), state.conflict_late_excess
        if w < 0:
            added = at_event[0].term(w)
            conflict += added
            baseline += at_event[1].term(w)
            if late_at is not None:  # later terms are larger: the excess grows
                # (never by less than 0, whatever the rounding of two terms close in time)
                excess += max(self._instants(late_at)[0].term(w) - added, 0)
        else:
            cooperation += at_event[0].term(w)
        first_at = at if state.first_at is None or at < state.first_at else state.first_at
        # Use of force by a state organ, done, starts armed conflict; a truce done ends
        # it (a threatened strike or an announced truce is neither). Maxima: as
        # order-free as the sums.
        force_at, truce_at, force_late = (
            state.last_force_at,
            state.last_truce_at,
            state.last_force_late,
        )
        if event.mode is Mode.DONE:
            if self._is_force(event):
                force_at = at if force_at is None or at > force_at else force_at
                late = late_at or at
                force_late = late if force_late is None or late > force_late else force_late
            elif event.cameo in TRUCE_CODES:
                truce_at = at if truce_at is None or at > truce_at else truce_at
        # The conflict score now (the rules read the baseline only before the event).
        c = round(at_clock[0].value(conflict), 6)
        floor = self._floor_between(force_at, truce_at, clock) if force_at is not None else 0
        t1, t2, t3 = cfg.thresholds
        band = max(state.band, (c >= t1) + (c >= t2) + (c >= t3), floor)
        history = clock - first_at
        may_spike = state.spiking or self._may_spike(history, c)
        # The reading before the event: only the spike rule and the alerts need it, and
        # a cooperative act leaves it as it is.
        before = (c, 0.0)  # not read unless a rule below needs it, and then it is read
        if may_spike or band > state.band:
            if w < 0:
                before = self._conflict_and_baseline(
                    state.conflict_sum, state.baseline_sum, at_clock
                )
            else:
                before = self._conflict_and_baseline(conflict, baseline, at_clock)
        # In armed conflict, conflict is the norm: a spike against the baseline says nothing.
        spiking = may_spike and self._spiking(state.spiking, history, before, c) and not floor
        spike_starts = spiking and not state.spiking
        new = state.evolve(
            {
                "last_force_at": force_at,
                "last_truce_at": truce_at,
                "last_force_late": force_late,
                "conflict_sum": conflict,
                "conflict_late_excess": excess,
                "cooperation_sum": cooperation,
                "baseline_sum": baseline,
                "events": state.events + 1,
                "first_at": first_at,
                "as_of": clock,
                "last_conflict": event.event_id if w < 0 else state.last_conflict,
                "band": band,
                "spiking": spiking,
            }
        )
        alerts: list[Alert] = []
        if band > state.band:
            # One alert per event: a spike that lifts the level is told by the level alert.
            armed = floor == band
            alerts.append(
                self._rise_alert(
                    new, event, state.band, band, self.scores(new), before, spike_starts, armed
                )
            )
        elif spike_starts:
            alerts.append(self._spike_alert(new, event, before, self.scores(new)))
        return new, alerts

    def _instants(self, at: datetime) -> tuple[Instant, Instant]:
        """``at`` as instants (folds/decay.py) of the short and the baseline half-life
        (the last one kept: events of one time, e.g. a feed's day-dated acts, share it)."""
        if at != self._last[0]:
            self._last = at, instants(at, self._half_lives)
        return self._last[1]

    def _conflict_and_baseline(
        self, conflict: int, baseline: int, at: tuple[Instant, Instant]
    ) -> Reading:
        """The conflict score and the rescaled baseline at an instant (for the short and
        the baseline half-life), as :meth:`scores` has them."""
        short, long = at
        return round(short.value(conflict), 6), round(long.value(baseline) * self._rescale, 6)

    def due(self, state: TensionState) -> datetime | None:
        """When the band falls next: the decayed score crosses the line below the band
        (``hysteresis`` x its threshold), or the armed-conflict floor lapses, if later."""
        if state.band == 0 or state.as_of is None:
            return None
        line = self.config.thresholds[state.band - 1] * self.config.hysteresis
        return self._crossed_at(state, line)

    def advance(self, state: TensionState, at: datetime) -> tuple[TensionState, list[Alert]]:
        """Lower the band by one at ``at``, its due time; raise ``tension.level_down``."""
        new_band = max(state.band - 1, self._floor(state, at))
        moved = state.evolve({"as_of": max(at, state.as_of or at)})
        if new_band >= state.band:
            return moved, []  # the floor holds: due() now says when it lapses
        scores = self.scores(state, at)
        fallen = moved.evolve({"band": new_band, "spiking": False})
        return fallen, [self._fall_alert(state, new_band, at, scores)]

    def _is_force(self, event: DiplomaticEvent) -> bool:
        """A use of force by a state organ, done (what starts armed conflict)."""
        if event.mode is not Mode.DONE or not event.cameo.startswith(FORCE_ROOTS):
            return False
        return self.config.actor_weights.get(event.actor.kind, 1.0) >= 1.0

    def level_at(self, state: TensionState, at: datetime) -> int:
        """Return the band the dyad would be in at ``at`` with no further events."""
        conflict = self.scores(state, at)["conflict"]
        return max(self._fall(state.band, conflict), self._floor(state, at))

    def armed_conflict_until(self, state: TensionState) -> datetime | None:
        """Return when the pair's armed conflict ends (or lapses); None if never in one."""
        return self._until(state.last_force_at, state.last_truce_at)

    def _until(self, force: datetime | None, truce: datetime | None) -> datetime | None:
        if force is None:
            return None
        if truce is not None and truce >= force:
            return truce
        return force + self._lapse

    def _floor(self, state: TensionState, at: datetime) -> int:
        """Return the band the level cannot fall below at ``at`` (armed conflict)."""
        return self._floor_between(state.last_force_at, state.last_truce_at, at)

    def _floor_between(self, force: datetime | None, truce: datetime | None, at: datetime) -> int:
        until = self._until(force, truce)
        in_conflict = force is not None and until is not None and force <= at < until
        return self.config.armed_conflict_floor if in_conflict else 0

    def _fall(self, band: int, conflict: float) -> int:
        """Fall one band at a time, and only once clearly below: no flapping at a line."""
        thresholds = self.config.thresholds
        while band > 0 and conflict < thresholds[band - 1] * self.config.hysteresis:
            band -= 1
        return band

    def _crossed_at(self, state: TensionState, line: float, late: bool = False) -> datetime:
        """Return when the decayed conflict score falls through ``line`` (exact to 1 s),
        held up by the armed-conflict floor while it lasts; never before ``as_of``.
        ``late``: the same with every act at the end of its window (the latest the fall
        may be, as far as the sources date the acts behind it)."""
        assert state.as_of is not None
        total = state.conflict_sum + (state.conflict_late_excess if late else 0)
        force = state.last_force_late if late else state.last_force_at
        crossed = state.as_of
        if total > 0:
            half_lives = math.log2(total) - math.log2(line * UNITS_PER_POINT)
            seconds = math.ceil(half_lives * self.config.half_life_days * 86400)
            crossed = max(crossed, EPOCH + timedelta(seconds=seconds))
        until = self._until(force, state.last_truce_at)
        if until is not None and self._floor_between(force, state.last_truce_at, crossed):
            crossed = max(crossed, until)  # the floor holds the level up until then
        return crossed

    def _may_spike(self, history: timedelta, conflict: float) -> bool:
        """Whether a dyad not spiking could start to, by the rules that need no baseline
        (when not, :meth:`_spiking` is False whatever the reading before the event)."""
        return conflict >= self.config.spike_min_points and history >= self._min_history

    def _spiking(self, was: bool, history: timedelta, before: Reading, now: float) -> bool:
        """Whether the dyad spikes with the conflict score ``now`` (``before``: the
        reading before the event)."""
        cfg = self.config
        baseline = before[1]
        ratio = now / baseline if baseline > 0 else float("inf")
        if was:
            return now >= cfg.spike_min_points and ratio >= cfg.spike_ratio / 2
        return (
            history >= self._min_history
            and now - before[0] > 0
            and now >= cfg.spike_min_points
            and ratio >= cfg.spike_ratio
        )

    def _rise_alert(
        self,
        state: TensionState,
        event: DiplomaticEvent,
        old: int,
        new: int,
        now: dict[str, float],
        before: Reading,
        spike: bool,
        armed: bool,
    ) -> Alert:
        rule = "tension.level_up"
        figures: dict[str, float | int | str] = {
            **now,
            "from_level": LEVELS[old],
            "to_level": LEVELS[new],
        }
        spike_note = ""
        if armed:
            figures["armed_conflict_since"] = (state.last_force_at or event.occurred_at).isoformat()
            spike_note = "; the pair is in armed conflict (use of force by a state organ)"
        elif spike:
            figures["baseline_before"] = before[1]
            spike_note = (
                f"; a spike, at least {self.config.spike_ratio:g}x the dyad's own baseline "
                f"{before[1]:.1f}"
            )
        return event_alert(
            rule,
            _RISE_SEVERITY[new],
            state.dyad,
            event,
            title=f"{state.dyad} tension rose to {LEVELS[new]}",
            detail=(
                f"Decayed conflict score {now['conflict']:.1f} (half-life "
                f"{self.config.half_life_days:g} days) moved the dyad from {LEVELS[old]} to "
                f"{LEVELS[new]}{spike_note}, after: {event.summary}"
            ),
            figures=figures,
        )

    def _fall_alert(
        self, state: TensionState, new: int, at: datetime, scores: dict[str, float]
    ) -> Alert:
        line = self.config.thresholds[new] * self.config.hysteresis
        until = self.armed_conflict_until(state)
        lapsed = until is not None and until == at and state.last_force_at is not None
        why = (
            f"the armed conflict lapsed ({self.config.armed_conflict_lapse_days:g} days after "
            "the last coded use of force, or at a truce) and the score was below "
            if lapsed
            else "with no new conflict, the decayed score fell below "
        )
        # A band above calm was reached by conflict acts: the last one is the evidence.
        evidence = (state.last_conflict,) if state.last_conflict else (state.dyad,)
        # Acts behind it dated only to a window: the fall is as uncertain as they are.
        latest = min(self._crossed_at(state, line, late=True), LATEST - timedelta(seconds=1))
        window = Window(earliest=at, latest=latest) if latest > at else None
        on = (
            f"Between {window.earliest.date()} and {window.latest.date()} (acts behind it are "
            "dated only within a window)"
            if window
            else f"On {at.date().isoformat()}"
        )
        return timer_alert(
            "tension.level_down",
            Severity.INFO,
            state.dyad,
            at,
            title=f"{state.dyad} tension eased to {LEVELS[new]}",
            detail=(
                f"{on}, {why}{line:g} ({self.config.hysteresis:.0%} of "
                f"the {LEVELS[new + 1]} threshold). Last conflict act before it: "
                f"{state.last_conflict or 'none'}."
            ),
            figures={
                **scores,
                "from_level": LEVELS[state.band],
                "to_level": LEVELS[new],
                "crossed_below": line,
            },
            evidence=evidence,
            window=window,
        )

    def _spike_alert(
        self,
        state: TensionState,
        event: DiplomaticEvent,
        before: Reading,
        now: dict[str, float],
    ) -> Alert:
        rule = "tension.spike"
        return event_alert(
            rule,
            Severity.WARNING,
            state.dyad,
            event,
            title=f"{state.dyad} conflict spike",
            detail=(
                f"Conflict score {now['conflict']:.1f} is at least {self.config.spike_ratio:g}x "
                f"the dyad's own baseline {before[1]:.1f}, after: {event.summary}"
            ),
            figures={**now, "baseline_before": before[1]},
        )
