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
        by_action=Counter(item.event.action.value for item in selected),
        first=selected[0].event.occurred_at.date().isoformat() if selected else None,
        last=selected[-1].event.occurred_at.date().isoformat() if selected else None,
        published=published,
        skipped_invalid=skipped_invalid,
        duplicates=duplicates,
        filtered_out=filtered_out,
    )
