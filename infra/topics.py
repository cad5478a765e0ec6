"""The one registry of topics: name, key, value, partitions and configs.

Used by the worker, the replay tool, the CLI, the tests and the compose init.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

from folds.registry import AGGREGATES, Aggregate

if TYPE_CHECKING:
    from infra.settings import Settings

__all__ = [
    "DEAD_LETTER_MAX_BYTES",
    "KIND_HEADER",
    "REASON_HEADER",
    "SOURCE_HEADER",
    "TIMELINE_TABLE",
    "TopicSpec",
    "Topics",
]

#: The worker's table of dyad logs (folds/dyadlog.py); its changelog is
#: ``<app id>-timeline-state-changelog``.
TIMELINE_TABLE: Final = "timeline"

#: Headers of a dead-letter record; its key and value are the original bytes (of a
#: record set aside, what names it). The worker's name where the record was
#: (``topic:partition:offset``) and its kind of fault (the metrics label: ``too_late``,
#: ``unmatched``, …), which the read model's chart follows (query/chart.py).
REASON_HEADER: Final = "dipwatch.reason"
SOURCE_HEADER: Final = "dipwatch.source"
KIND_HEADER: Final = "dipwatch.kind"

_FOREVER: Final = MappingProxyType({"retention.ms": "-1", "retention.bytes": "-1"})


#: The dead-letter topic takes any record the events topic took (about 1 MiB) plus headers.
DEAD_LETTER_MAX_BYTES: Final = 2 * 1024 * 1024


@dataclass(frozen=True)
class TopicSpec:
    """One topic of the project."""

    name: str
    key: str
    value: str
    partitions: int
    config: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Topics:
    """All topic names under one prefix (``dipwatch`` by default), for the aggregates of
    the registry: one alert topic and one changelog per aggregate."""

    prefix: str = "dipwatch"
    partitions: int = 4
    aggregates: tuple[Aggregate, ...] = AGGREGATES

    @classmethod
    def from_settings(
        cls, settings: Settings, aggregates: Sequence[Aggregate] = AGGREGATES
    ) -> Topics:
        """Return the topics of the deployment ``settings`` describe."""
        return cls(settings.topic_prefix, settings.partitions, tuple(aggregates))

    @property
    def aggregate_names(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.aggregates)

    @property
    def events(self) -> str:
        return f"{self.prefix}.events"

    @property
    def dead_letter(self) -> str:
        return f"{self.prefix}.events.dlq"

    @property
    def gdelt_progress(self) -> str:
        """The GDELT files already imported (key = file name; compacted)."""
        return f"{self.prefix}.ingest.gdelt"

    def alerts(self, aggregate: str) -> str:
        """Return the alert topic of an aggregate (``tension``, ``summons``, ``envoys``)."""
        if aggregate not in self.aggregate_names:
            raise ValueError(f"no alert topic for {aggregate!r}")
        return f"{self.prefix}.alerts.{aggregate}"

    @property
    def all_alerts(self) -> tuple[str, ...]:
        return tuple(self.alerts(a) for a in self.aggregate_names)

    @staticmethod
    def table(aggregate: str) -> str:
        """The name of a Faust table (an aggregate's, or the timeline's)."""
        return f"{aggregate}-state"

    def changelog(self, app_id: str, table: str = TIMELINE_TABLE) -> str:
        """The changelog topic of a Faust table (the timeline), as Faust names it."""
        return f"{app_id}-{self.table(table)}-changelog"

    def changelog_specs(self, app_id: str) -> tuple[TopicSpec, ...]:
        """Faust's changelog topic of the worker's one table, as Faust creates it:
        compacted; each dyad's log, with every aggregate's current state in it."""
        return (
            TopicSpec(
                self.changelog(app_id, TIMELINE_TABLE),
                "dyad (JSON)",
                f"dyad log: head ({', '.join(self.aggregate_names)}), events, alerts",
                self.partitions,
                {"cleanup.policy": "compact"},
            ),
        )

    def specs(self) -> tuple[TopicSpec, ...]:
        """Every topic the project creates, with its configs (Faust's changelogs aside)."""
        n = self.partitions
        return (
            # The log of record: keyed by dyad, kept forever, timestamps = occurred_at.
            TopicSpec(
                self.events,
                "dyad",
                "DiplomaticEvent",
                n,
                {**_FOREVER, "message.timestamp.type": "CreateTime"},
            ),
            # Room for an events-sized record plus the reason and source headers.
            TopicSpec(
                self.dead_letter,
                "original key",
                "DeadLetter",
                1,
                {**_FOREVER, "max.message.bytes": str(DEAD_LETTER_MAX_BYTES)},
            ),
            *(
                TopicSpec(self.alerts(a), "dyad", "Alert", n, {"retention.ms": "-1"})
                for a in self.aggregate_names
            ),
            # One record per imported GDELT file: the latest per key is all that matters.
            TopicSpec(
                self.gdelt_progress,
                "file name",
                "GdeltFileImported",
                1,
                {"cleanup.policy": "compact"},
            ),
        )
