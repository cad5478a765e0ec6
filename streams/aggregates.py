"""The folds the monitor runs, built from the settings; shared by worker and offline."""

from __future__ import annotations

from typing import Any

from dipwatch.settings import Settings
from streams.folds import TensionConfig, TensionFold
from streams.folds.base import Fold
from streams.folds.envoys import EnvoysFold
from streams.folds.summons import SummonsConfig, SummonsFold

__all__ = ["build_folds", "tension_fold"]


def tension_fold(settings: Settings) -> TensionFold:
    """Return the tension fold, configured from ``settings``."""
    return TensionFold(
        TensionConfig(
            half_life_days=settings.half_life_days,
            baseline_half_life_days=settings.baseline_half_life_days,
        )
    )


def build_folds(settings: Settings) -> tuple[Fold[Any], ...]:
    """Return every aggregate's fold, configured from ``settings``."""
    return (
        tension_fold(settings),
        SummonsFold(
            SummonsConfig(
                expiry_days=settings.summons_expiry_days,
                reciprocal_window_days=settings.reciprocal_window_days,
            )
        ),
        EnvoysFold(),
    )
