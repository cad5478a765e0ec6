"""Open summons per dyad: a summons opens a case; the outcome sought or an explicit close
closes it, and a timer lapses it ``expiry_days`` after it opened. Alerts: opened,
reciprocal (tit-for-tat), several open at once, closed, lapsed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Protocol

from pydantic import Field

from folds.base import StateModel, event_alert, shifted, timer_alert, window_end
from schemas.alerts import Alert, Severity
from schemas.codebook import Action
from schemas.events import DiplomaticEvent, Mode

__all__ = [
    "SummonsCase",
    "SummonsConfig",
    "SummonsFold",
    "SummonsSettings",
    "SummonsState",
]

#: Outcomes the summoning side seeks; each closes the cases against that envoy.
_OUTCOMES: Final = {
    Action.ENVOY_RECALLED: "recalled",
    Action.ENVOY_EXPELLED: "expelled",
    Action.ENVOY_REPLACED: "replaced",
    Action.ENVOY_REPLACEMENT_REQUESTED: "replacement requested",
    Action.SUMMONS_CLOSED: "closed",
}
#: The acts that open or close a case (a tuple: members compared as str, no Enum hash).
_CASE_ACTS: Final = (Action.SUMMON_ENVOY, *_OUTCOMES)


#: Lapsed cases the state keeps for the panel (the log holds them all).
LAPSED_KEPT: Final = 10


class SummonsSettings(Protocol):
    """The settings the summons fold reads."""

    @property
    def summons_expiry_days(self) -> float: ...
    @property
    def reciprocal_window_days(self) -> float: ...
    @property
    def several_open(self) -> int: ...


@dataclass(frozen=True)
class SummonsConfig:
    """Case expiry and the reciprocity window, in days of event time."""

    expiry_days: float = 90.0
    reciprocal_window_days: float = 14.0
    several_open: int = 2

    @classmethod
    def from_settings(cls, settings: SummonsSettings) -> SummonsConfig:
        """Return the configuration the deployment's settings describe."""
        return cls(
            expiry_days=settings.summons_expiry_days,
            reciprocal_window_days=settings.reciprocal_window_days,
            several_open=settings.several_open,
        )


class SummonsCase(StateModel):
    """One summons: who summoned whose envoy, when, and the evidence."""

    case_id: str
    summoner: str
    envoy_of: str
    envoy_name: str | None
    opened_at: datetime
    #: ``opened_at`` as precisely as the sources date it.
    opened_when: str
    #: The latest the summons may have been, if the sources date it only to a window.
    opened_latest: datetime | None = None
    over: str
    evidence: tuple[str, ...]


class SummonsState(StateModel):
    """Open cases, recent summons (for reciprocity) and counts of closed cases."""

    dyad: str
    open: tuple[SummonsCase, ...] = ()
    #: The latest cases that lapsed with no outcome reported (at most ``LAPSED_KEPT``).
    lapsed: tuple[SummonsCase, ...] = ()
    recent: tuple[SummonsCase, ...] = ()
    closed: dict[str, int] = Field(default_factory=dict)
    #: The event time of the state's last change: a case opened, closed or lapsed, or a
    #: summons left the reciprocity window (events that change none of it leave it).
    as_of: datetime | None = None
    #: Whether ``summons.several_open`` was raised for the cases open now (re-armed when
    #: fewer than ``several_open`` remain open).
    several_told: bool = False


def _case_order(case: SummonsCase) -> tuple[datetime, str]:
    return case.opened_at, case.case_id


def _later(days: float) -> str:
    """How long after, as an analyst reads it: ``1 day later``, ``3.9 days later``."""
    if days == 0:
        return "at the same time"
    if days < 1:
        hours = max(round(days * 24), 1)
        return f"{hours} hour later" if hours == 1 else f"{hours} hours later"
    if days == round(days):
        return f"{days:.0f} day later" if days == 1 else f"{days:.0f} days later"
    return f"{days:.1f} days later"


class SummonsFold:
    """The summons aggregate: ``apply(state, event) -> (state, alerts)``."""

    name = "summons"
    state_type = SummonsState

    def __init__(self, config: SummonsConfig | None = None) -> None:
        self.config = config or SummonsConfig()
        self._expiry = timedelta(days=self.config.expiry_days)
        self._window = timedelta(days=self.config.reciprocal_window_days)

    def initial(self, key: str) -> SummonsState:
        """Return the state of a dyad with no summons."""
        return SummonsState(dyad=key)

    def due(self, state: SummonsState) -> datetime | None:
        """When the oldest open case lapses."""
        if not state.open:
            return None
        return min(c.opened_at for c in state.open) + self._expiry

    def advance(self, state: SummonsState, at: datetime) -> tuple[SummonsState, list[Alert]]:
        """Lapse every case opened ``expiry_days`` before ``at``; raise ``summons.lapsed``."""
        expiry = self._expiry
        ending = [c for c in state.open if c.opened_at + expiry <= at]
        still_open = tuple(c for c in state.open if c not in ending)
        closed = dict(state.closed)
        closed["lapsed"] = closed.get("lapsed", 0) + len(ending)
        lapsed = (*state.lapsed, *ending)[-LAPSED_KEPT:]
        new = state.evolve(
            {
                "open": still_open,
                "lapsed": lapsed,
                "closed": dict(sorted(closed.items())),
                "as_of": max(at, state.as_of or at),
                "several_told": state.several_told and len(still_open) >= self.config.several_open,
            }
        )
        return new, [self._lapsed(state.dyad, case, at) for case in ending]

    def apply(
        self, state: SummonsState, event: DiplomaticEvent
    ) -> tuple[SummonsState, list[Alert]]:
        """Open or close cases (the cases due to lapse by the event's time have lapsed)."""
        cfg = self.config
        at, window = event.occurred_at, self._window
        as_of = state.as_of if state.as_of is not None and state.as_of > at else at
        if event.action not in _CASE_ACTS:
            for case in state.recent:
                if case.opened_at + window < as_of:
                    break  # a case leaves the window
            else:
                # Most events: no case opens, closes or leaves the window: the state is
                # the same object (nothing to copy, dump or reschedule).
                return state, []
        closed = dict(state.closed)
        still_open = list(state.open)
        recent = [c for c in state.recent if c.opened_at + window >= as_of]
        several_told = state.several_told and len(still_open) >= cfg.several_open
        alerts: list[Alert] = []
        if event.action is Action.SUMMON_ENVOY and event.envoy is not None:
            if event.mode is Mode.DONE:
                several_told = self._open(
                    state.dyad, event, still_open, recent, several_told, alerts
                )
            elif event.mode in (Mode.ANNOUNCED, Mode.THREATENED):
                alerts.append(self._announced(state.dyad, event, recent))
        elif event.action in _OUTCOMES and event.envoy is not None and event.mode is Mode.DONE:
            outcome = _OUTCOMES[event.action]
            ending = [c for c in still_open if c.envoy_of == event.envoy.sending_country]
            for case in ending:
                still_open.remove(case)
                closed[outcome] = closed.get(outcome, 0) + 1
                alerts.append(self._closed(state.dyad, case, outcome, event))
        new = state.evolve(
            {
                "open": tuple(sorted(still_open, key=_case_order)),
                "recent": tuple(sorted(recent, key=_case_order)),
                "closed": dict(sorted(closed.items())),
                "as_of": as_of,
                "several_told": several_told and len(still_open) >= cfg.several_open,
            }
        )
        return new, alerts

    def _open(
        self,
        dyad: str,
        event: DiplomaticEvent,
        still_open: list[SummonsCase],
        recent: list[SummonsCase],
        several_told: bool,
        alerts: list[Alert],
    ) -> bool:
        """Open a case for a summons (in place); return whether several-open is told."""
        assert event.envoy is not None
        cfg = self.config
        window = self._window
        case = SummonsCase(
            case_id=event.event_id,
            summoner=event.actor.country,
            envoy_of=event.envoy.sending_country,
            envoy_name=event.envoy.name,
            opened_at=event.occurred_at,
            opened_when=event.when,
            opened_latest=window_end(event),
            over=event.summary,
            evidence=(event.event_id,),
        )
        mirror = [
            c
            for c in recent
            if c.summoner == case.envoy_of
            and c.envoy_of == case.summoner
            and abs(c.opened_at - case.opened_at) <= window
        ]
        # One alert per summons: a tit-for-tat summons is told as such, not twice.
        if mirror:
            alerts.append(self._reciprocal(dyad, mirror[0], case, event))
        else:
            alerts.append(self._opened(dyad, case, event))
        still_open.append(case)
        recent.append(case)
        told_by_reciprocal = {c.case_id for c in still_open} <= {
            case.case_id,
            *(m.case_id for m in mirror[:1]),
        }
        if not several_told and len(still_open) >= cfg.several_open and not told_by_reciprocal:
            alerts.append(self._several(dyad, still_open, event))
            several_told = True
        return several_told

    def _announced(self, dyad: str, event: DiplomaticEvent, recent: list[SummonsCase]) -> Alert:
        """A summons announced or threatened, not (yet) made: no case opens, no envoy is
        summoned. Answering a recent summons in kind, it is an announced tit-for-tat."""
        assert event.envoy is not None
        summoner, envoy_of = event.actor.country, event.envoy.sending_country
        window = self._window
        mirror = [
            c
            for c in recent
            if (c.summoner, c.envoy_of) == (envoy_of, summoner)
            and abs(c.opened_at - event.occurred_at) <= window
        ]
        verb = "announced" if event.mode is Mode.ANNOUNCED else "threatened"
        figures: dict[str, float | int | str] = {
            "summoner": summoner,
            "envoy_of": envoy_of,
            "mode": event.mode.value,
        }
        if mirror:
            first = mirror[0]
            return event_alert(
                "summons.reciprocal_announced",
                Severity.WARNING,
                dyad,
                event,
                title=f"Tit-for-tat summons {verb}: {summoner} said it would answer {envoy_of}",
                detail=f"{envoy_of} summoned {summoner}'s envoy on {first.opened_when}; "
                f"{summoner} {verb} it would summon {envoy_of}'s envoy in turn ({event.when}), "
                f"a summons not reported as made. {event.summary}",
                figures={**figures, "first": envoy_of},
                evidence=tuple(sorted({*first.evidence, event.event_id})),
            )
        return event_alert(
            "summons.announced",
            Severity.INFO,
            dyad,
            event,
            title=f"{summoner} {verb} it would summon {envoy_of}'s envoy",
            detail=f"Not reported as made. {event.summary}",
            figures=figures,
        )

    def _opened(self, dyad: str, case: SummonsCase, event: DiplomaticEvent) -> Alert:
        who = case.envoy_name or f"the envoy of {case.envoy_of}"
        return event_alert(
            "summons.opened",
            Severity.WARNING,
            dyad,
            event,
            title=f"{case.summoner} summoned {who}",
            detail=case.over,
            figures={"summoner": case.summoner, "envoy_of": case.envoy_of},
            evidence=case.evidence,
        )

    def _reciprocal(
        self, dyad: str, first: SummonsCase, second: SummonsCase, event: DiplomaticEvent
    ) -> Alert:
        days = abs((second.opened_at - first.opened_at).total_seconds()) / 86_400
        return event_alert(
            "summons.reciprocal",
            Severity.HIGH,
            dyad,
            event,
            title=f"Tit-for-tat summons: {second.summoner} answered {first.summoner}",
            detail=f"{first.summoner} summoned {first.envoy_of}'s envoy on "
            f"{first.opened_when}; {second.summoner} summoned {second.envoy_of}'s envoy on "
            f"{second.opened_when}, {_later(days)}. {second.over}",
            figures={
                "days_apart": round(days, 3),
                "first": first.summoner,
                "second": second.summoner,
                "summoner": second.summoner,
                "envoy_of": second.envoy_of,
            },
            evidence=tuple(sorted({*first.evidence, *second.evidence})),
        )

    def _several(self, dyad: str, cases: list[SummonsCase], event: DiplomaticEvent) -> Alert:
        return event_alert(
            "summons.several_open",
            Severity.HIGH,
            dyad,
            event,
            title=f"{len(cases)} summons open at once on {dyad}",
            detail="; ".join(
                f"{c.summoner} summoned {c.envoy_of}'s envoy on {c.opened_when}" for c in cases
            ),
            figures={"open": len(cases)},
            evidence=tuple(sorted(c.case_id for c in cases)),
        )

    def _closed(self, dyad: str, case: SummonsCase, outcome: str, event: DiplomaticEvent) -> Alert:
        return event_alert(
            "summons.closed",
            Severity.INFO,
            dyad,
            event,
            title=f"Summons of {case.envoy_of}'s envoy by {case.summoner} closed"
            + ("" if outcome == "closed" else f": {outcome}"),  # no "closed: closed"
            detail=event.summary,
            figures={"outcome": outcome, "opened_at": case.opened_at.isoformat()},
            evidence=(case.case_id, event.event_id),
            key=f"|{case.case_id}",
        )

    def _lapsed(self, dyad: str, case: SummonsCase, at: datetime) -> Alert:
        expiry = self._expiry
        return timer_alert(
            "summons.lapsed",
            Severity.INFO,
            dyad,
            at,
            title=f"Summons of {case.envoy_of}'s envoy by {case.summoner} lapsed",
            detail=f"Opened {case.opened_when}; no outcome reported within "
            f"{self.config.expiry_days:g} days, so the case is no longer counted as open. "
            f"{case.over}",
            figures={"summoner": case.summoner, "envoy_of": case.envoy_of},
            evidence=case.evidence,
            key=f"|{case.case_id}",
            window=shifted(case.opened_at, case.opened_latest, expiry),
        )
