"""Synthetic diplomatic events with a realistic shape, for the benchmark.

- Dyads: pairs of real country codes; activity is Zipf-skewed (a few pairs carry most
  events, as in GDELT, where a handful of dyads dominate).
- Actions: a GDELT-like mix of the four quad classes — verbal cooperation ~45 %,
  material cooperation ~10 %, verbal conflict ~32 %, material conflict ~13 % — mapped
  to the project's actions and their CAMEO codes; some summonses with envoys.
- Event time: spread over ``years`` and sorted, as a replay publishes it.

Deterministic for a seed, so two runs publish the same log.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

import pycountry

from schemas.events import DiplomaticEvent

__all__ = ["START", "Shape", "dyads", "generate"]

#: (weight, action, cameo, actor kind) — roughly GDELT's quad-class shares.
MIX: Final = (
    (20, "statement", "010", "foreign_ministry"),
    (10, "consult", "040", "head_of_state"),
    (8, "praise", "051", "government"),
    (7, "appeal", "020", "government"),
    (10, "aid", "073", "government"),
    (12, "criticize", "111", "foreign_ministry"),
    (8, "accuse", "112", "media"),
    (5, "demand", "100", "government"),
    (4, "threaten", "130", "legislator"),
    (3, "protest_note", "114", "foreign_ministry"),
    (3, "summon_envoy", "110", "foreign_ministry"),
    (5, "reject", "120", "government"),
    (3, "entry_ban", "172", "government"),
    (2, "economic_pressure", "163", "government"),
)
#: Where the generated event time begins, unless that would end it after LAST_END.
START: Final = datetime(2021, 1, 1, tzinfo=UTC)
#: Generated event time ends by this day, so a long span still lies in the past and
#: passes the entries' "not in the future" check (a longer span starts earlier).
LAST_END: Final = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Shape:
    """How many events, over how many dyads and years of event time."""

    events: int = 200_000
    dyads: int = 3_000
    years: float = 5.0
    zipf: float = 1.1
    seed: int = 7

    @property
    def start(self) -> datetime:
        """Where the generated event time begins."""
        return min(START, LAST_END - self.span)

    @property
    def span(self) -> timedelta:
        return timedelta(days=365.25 * self.years)

    @property
    def end(self) -> datetime:
        """Where the generated event time ends."""
        return self.start + self.span


def dyads(count: int, seed: int) -> list[tuple[str, str]]:
    """Return ``count`` distinct country pairs (sorted within the pair)."""
    codes = sorted(c.alpha_3 for c in pycountry.countries)
    rnd = random.Random(seed)
    chosen: set[tuple[str, str]] = set()
    while len(chosen) < count:
        a, b = rnd.sample(codes, 2)
        chosen.add((min(a, b), max(a, b)))
    return sorted(chosen)


def generate(shape: Shape) -> Iterator[DiplomaticEvent]:
    """Yield ``shape.events`` valid events in event-time order."""
    rnd = random.Random(shape.seed)
    pairs = dyads(shape.dyads, shape.seed)
    rnd.shuffle(pairs)
    weights = [1.0 / (rank + 1) ** shape.zipf for rank in range(len(pairs))]
    start, span = shape.start, shape.span
    offsets = sorted(rnd.random() for _ in range(shape.events))
    chosen = rnd.choices(pairs, weights=weights, k=shape.events)
    kinds = rnd.choices(MIX, weights=[m[0] for m in MIX], k=shape.events)
    recorded = (start + span + timedelta(days=1)).isoformat()
    for i, (offset, pair, kind) in enumerate(zip(offsets, chosen, kinds, strict=True)):
        _, action, cameo, actor_kind = kind
        actor, target = pair if rnd.random() < 0.5 else pair[::-1]
        data: dict[str, object] = {
            "event_id": f"bench-{shape.seed}-{i}",
            "occurred_at": (start + span * offset).isoformat(),
            "date_precision": "day",
            "recorded_at": recorded,
            "actor": {"country": actor, "kind": actor_kind},
            "target": {"country": target, "kind": "state"},
            "action": action,
            "cameo": cameo,
            "summary": f"Synthetic {action} by {actor} towards {target}.",
            "sources": [{"publisher": "dipwatch bench", "title": "synthetic", "language": "en"}],
        }
        if action == "summon_envoy":
            data["target"] = {"country": target, "kind": "envoy"}
            data["envoy"] = {"sending_country": target, "host_country": actor}
        yield DiplomaticEvent.model_validate(data)
