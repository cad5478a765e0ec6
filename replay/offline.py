"""Fold events offline (``replay --offline``, ``ingest --offline``) and print the result:
alerts as JSON lines on stdout, refusals on stderr, the final state to a file if asked."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from folds.parallel import cores, fold_parallel
from folds.registry import build_folds
from infra.settings import Settings
from schemas.events import DiplomaticEvent

__all__ = ["AUTO_JOBS_FROM", "fold_and_print", "jobs_for"]

#: Below this many events one process folds them (forking costs more than it saves).
AUTO_JOBS_FROM: Final = 10_000
_AUTO_JOBS_MAX: Final = 4


def jobs_for(setting: int, events: int) -> int:
    """The processes to fold ``events`` with: the setting, or if 0 one per core (at most
    four) for a log of ``AUTO_JOBS_FROM`` events or more."""
    if setting:
        return setting
    if events < AUTO_JOBS_FROM:
        return 1
    return max(1, min(cores(), _AUTO_JOBS_MAX))


def fold_and_print(
    settings: Settings, events: Sequence[DiplomaticEvent], state_path: Path | None
) -> None:
    """Fold ``events`` (in log order) and print what the worker would publish."""
    folded = fold_parallel(
        build_folds(settings),
        events,
        jobs=jobs_for(settings.offline_jobs, len(events)),
        lateness_days=settings.allowed_lateness_days,
    )
    for reason in folded.refused:
        print(f"refused: {reason}", file=sys.stderr)
    for line in folded.alerts:
        sys.stdout.write(line.decode() + "\n")
    if state_path:
        state_path.write_text(json.dumps(folded.state, indent=2, sort_keys=True) + "\n")
