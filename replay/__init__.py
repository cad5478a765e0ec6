"""The replay tool: validate event files, then publish them in event-time order."""

from replay.loader import Loaded, LoadReport, bundled_corpus, load_paths, select
from streams.folds.offline import fold_offline

__all__ = ["LoadReport", "Loaded", "bundled_corpus", "fold_offline", "load_paths", "select"]
