"""The end-of-replay summary: events by dyad and action, time span, counts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from replay.loader import Loaded

__all__ = ["Summary", "summarise"]


@dataclass(frozen=True)
class Summary:
    """What a replay did (or, with --dry-run, would do)."""

    by_dyad: Counter[str]
    by_action: Counter[str]
    first: str | None
    last: str | None
    published: int
    skipped_invalid: int
    duplicates: int
    filtered_out: int

    def render(self) -> str:
        """Return the summary as plain text."""
        lines = [
            f"events: {sum(self.by_dyad.values())} selected, {self.published} published, "
            f"{self.skipped_invalid} invalid skipped, {self.duplicates} duplicate lines, "
            f"{self.filtered_out} filtered out",
            f"time span: {self.first or '-'} .. {self.last or '-'}",
            "by dyad:",
            *(f"  {k:<9} {v:>5}" for k, v in sorted(self.by_dyad.items())),
            "by action:",
            *(f"  {k:<28} {v:>5}" for k, v in self.by_action.most_common()),
        ]
        return "\n".join(lines)


def _action(item: Loaded) -> str:
    """The act's name: its action, or its bare CAMEO code (and the mode if not done)."""
    event = item.event
    name = event.action.value if event.action is not None else f"cameo {event.cameo}"
    return name if event.mode.value == "done" else f"{name} ({event.mode.value})"


def summarise(
    selected: Sequence[Loaded],
    *,
    published: int,
    skipped_invalid: int,
    duplicates: int,
    filtered_out: int,
) -> Summary:
    """Count the selected events by dyad and by action."""
    return Summary(
        by_dyad=Counter(item.event.dyad for item in selected),
        by_action=Counter(_action(item) for item in selected),
        first=selected[0].event.when if selected else None,
        last=selected[-1].event.when if selected else None,
        published=published,
        skipped_invalid=skipped_invalid,
        duplicates=duplicates,
        filtered_out=filtered_out,
    )
