"""The worker's Prometheus metrics (prometheus-client), served at ``/metrics``.

One registry per process: the engine counts, the query side serves. Dead letters are
labelled by the kind of fault (a few fixed values), never by the free-text reason.
"""

from __future__ import annotations

from typing import Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = [
    "ALERTS",
    "CHANGELOG_SKIPPED",
    "DEAD_LETTERS",
    "DUPLICATES",
    "FOLDED",
    "FOLD_SECONDS",
    "LAG",
    "READ_MODEL_LAG",
    "READ_MODEL_SKIPPED",
    "REGISTRY",
    "TABLE_VALUES_DISCARDED",
]

REGISTRY: Final = CollectorRegistry(auto_describe=True)

FOLDED: Final = Counter(
    "dipwatch_events_folded", "Events folded into the aggregates", registry=REGISTRY
)
DEAD_LETTERS: Final = Counter(
    "dipwatch_dead_letters",
    "Records sent to the dead-letter topic, by kind of fault",
    ["kind"],
    registry=REGISTRY,
)
DUPLICATES: Final = Counter(
    "dipwatch_duplicates_skipped", "Redelivered events skipped by dedup", registry=REGISTRY
)
ALERTS: Final = Counter("dipwatch_alerts", "Alerts raised, by rule", ["rule"], registry=REGISTRY)
FOLD_SECONDS: Final = Histogram(
    "dipwatch_fold_batch_seconds",
    "Time the fold process takes to fold one batch of records (decode, engine, folds)",
    buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0),
    registry=REGISTRY,
)
LAG: Final = Gauge(
    "dipwatch_consumer_lag",
    "Events-topic records not yet folded, per owned partition",
    ["partition"],
    registry=REGISTRY,
)
READ_MODEL_LAG: Final = Gauge(
    "dipwatch_read_model_lag",
    "Records of the followed topics the read model has not read yet",
    registry=REGISTRY,
)
CHANGELOG_SKIPPED: Final = Counter(
    "dipwatch_changelog_skipped",
    "Unreadable table changelog records skipped (recovery goes on without them)",
    registry=REGISTRY,
)
TABLE_VALUES_DISCARDED: Final = Counter(
    "dipwatch_table_values_discarded",
    "Stored table values that could not be read back (the dyad starts afresh)",
    registry=REGISTRY,
)
READ_MODEL_SKIPPED: Final = Counter(
    "dipwatch_read_model_skipped",
    "Unreadable records the read model skipped, by topic",
    ["topic"],
    registry=REGISTRY,
)
