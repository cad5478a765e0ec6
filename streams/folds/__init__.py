"""Pure folds, one per aggregate: ``apply(state, event) -> (state, alerts)``. No Faust."""

from streams.folds.base import Fold, Guarded, event_digest, fold_all, guarded_apply
from streams.folds.tension import TensionConfig, TensionFold, TensionState

__all__ = [
    "Fold",
    "Guarded",
    "TensionConfig",
    "TensionFold",
    "TensionState",
    "event_digest",
    "fold_all",
    "guarded_apply",
]
