"""Pure folds: ``apply(state, event) -> (state, alerts)``; no Faust, no clock, no I/O.

``registry`` declares the aggregates, ``dyadlog`` folds one dyad in event time (late
events, retractions, corrections, timers), ``engine`` runs the dyads of one partition
with its watermark, ``offline`` runs a whole log in memory; ``guard`` dedups the read
model's chart history.
"""

from folds.base import Fold, StateModel
from folds.dyadlog import Change, DyadLog, FoldFailed, TooLate
from folds.engine import Engine
from folds.envoys import EnvoysFold, EnvoysState
from folds.guard import Guarded, event_digest
from folds.offline import fold_all, fold_offline
from folds.registry import AGGREGATES, Aggregate, build_folds
from folds.summons import SummonsConfig, SummonsFold, SummonsState
from folds.tension import TensionConfig, TensionFold, TensionState

__all__ = [
    "AGGREGATES",
    "Aggregate",
    "Change",
    "DyadLog",
    "Engine",
    "EnvoysFold",
    "EnvoysState",
    "Fold",
    "FoldFailed",
    "Guarded",
    "StateModel",
    "SummonsConfig",
    "SummonsFold",
    "SummonsState",
    "TensionConfig",
    "TensionFold",
    "TensionState",
    "TooLate",
    "build_folds",
    "event_digest",
    "fold_all",
    "fold_offline",
]
