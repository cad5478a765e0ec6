"""The replay tool: validate event files, then publish them in event-time order."""

from folds.offline import fold_offline
from replay.loader import Loaded, LoadReport, bundled_corpus, load_paths, select

__all__ = ["LoadReport", "Loaded", "bundled_corpus", "fold_offline", "load_paths", "select"]
