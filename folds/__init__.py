"""Pure folds: ``apply(state, event) -> (state, alerts)``; no Faust, no clock, no I/O.

``registry`` declares the aggregates, ``guard`` dedups, ``pipeline`` is the engine's one
step over all of them, ``offline`` runs that step in memory.
"""

from folds.base import Fold, StateModel
from folds.envoys import EnvoysFold, EnvoysState
from folds.guard import Guarded, TooLate, event_digest, fold_all, guarded_apply
from folds.offline import fold_offline
from folds.pipeline import Folded, apply_all
from folds.registry import AGGREGATES, Aggregate, build_folds
from folds.summons import SummonsConfig, SummonsFold, SummonsState
from folds.tension import TensionConfig, TensionFold, TensionState

__all__ = [
    "AGGREGATES",
    "Aggregate",
    "EnvoysFold",
    "EnvoysState",
    "Fold",
    "Folded",
    "Guarded",
    "StateModel",
    "SummonsConfig",
    "SummonsFold",
    "SummonsState",
    "TensionConfig",
    "TensionFold",
    "TensionState",
    "TooLate",
    "apply_all",
    "build_folds",
    "event_digest",
    "fold_all",
    "fold_offline",
    "guarded_apply",
]
