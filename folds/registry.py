"""The aggregate registry: each aggregate declared once, everything else derived from it.

An aggregate's name is its table's name, its alert topic's suffix and the prefix of its
alert rules (``tension.level_up`` goes to ``<prefix>.alerts.tension``). The topic
registry, the worker's tables, the read model and the web views all read this tuple;
nothing else lists the aggregates.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

from folds.base import Fold, StateModel
from folds.envoys import EnvoysFold, EnvoysState
from folds.summons import SummonsConfig, SummonsFold, SummonsSettings, SummonsState
from folds.tension import TensionConfig, TensionFold, TensionSettings, TensionState

__all__ = [
    "AGGREGATES",
    "Aggregate",
    "FoldSettings",
    "build_folds",
    "envoys_fold",
    "summons_fold",
    "tension_fold",
]


class FoldSettings(TensionSettings, SummonsSettings, Protocol):
    """Every setting a fold reads; the deployment's settings object provides them."""


@dataclass(frozen=True)
class Aggregate:
    """One aggregate: its name, the type of its state and how to build its fold (a
    module-level function, so that the worker's fold process can import it)."""

    name: str
    state_type: type[StateModel]
    build: Callable[[Any], Fold[Any]]

    @property
    def rule_prefix(self) -> str:
        """Every alert rule of the aggregate starts with this (``tension.``)."""
        return f"{self.name}."


def tension_fold(settings: TensionSettings) -> TensionFold:
    """Return the tension fold, configured from ``settings``."""
    return TensionFold(TensionConfig.from_settings(settings))


def summons_fold(settings: SummonsSettings) -> SummonsFold:
    """Return the summons fold, configured from ``settings``."""
    return SummonsFold(SummonsConfig.from_settings(settings))


def envoys_fold(settings: SummonsSettings) -> EnvoysFold:
    """Return the envoys fold, configured from ``settings``."""
    return EnvoysFold(SummonsConfig.from_settings(settings).expiry_days)


#: The aggregates the monitor runs, in the order each event is folded into them. (Each
#: ``build`` is a module-level function: the worker's fold process imports it by name.)
AGGREGATES: Final = (
    Aggregate("tension", TensionState, tension_fold),
    Aggregate("summons", SummonsState, summons_fold),
    Aggregate("envoys", EnvoysState, envoys_fold),
)


def build_folds(
    settings: FoldSettings, aggregates: Sequence[Aggregate] = AGGREGATES
) -> tuple[Fold[Any], ...]:
    """Return every aggregate's fold, configured from ``settings``; each fold must carry
    its aggregate's name and state type (checked here, once, not at the first alert)."""
    folds = tuple(a.build(settings) for a in aggregates)
    for aggregate, fold in zip(aggregates, folds, strict=True):
        if (fold.name, fold.state_type) != (aggregate.name, aggregate.state_type):
            raise TypeError(
                f"aggregate {aggregate.name!r} built a fold named {fold.name!r} "
                f"with state {fold.state_type.__name__}"
            )
    return folds
