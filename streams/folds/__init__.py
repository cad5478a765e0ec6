"""Pure folds: ``apply(state, event) -> (state, alerts)``; no Faust, no clock, no I/O."""

from streams.folds.base import Fold, Guarded, event_digest, fold_all, guarded_apply
from streams.folds.envoys import EnvoysFold, EnvoysState
from streams.folds.summons import SummonsConfig, SummonsFold, SummonsState
from streams.folds.tension import TensionConfig, TensionFold, TensionState

__all__ = [
    "EnvoysFold",
    "EnvoysState",
    "Fold",
    "Guarded",
    "SummonsConfig",
    "SummonsFold",
    "SummonsState",
    "TensionConfig",
    "TensionFold",
    "TensionState",
    "event_digest",
    "fold_all",
    "guarded_apply",
]
