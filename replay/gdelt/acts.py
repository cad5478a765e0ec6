"""GDELT rows grouped into acts as they are read, and the records made of the groups.

**One act, many rows.** GDELT codes every article, so one summons reported by forty
outlets arrives as dozens of rows. Rows are collapsed by (actor country, target country,
CAMEO code, day of the act): one record per group, whose ``coverage`` keeps the rows'
ids and their summed mentions, sources and articles and mean tone. The act weighs once
in tension, however much it was covered; its id is derived from the group's key, so an
import of the same rows again — or of further rows of the group in a later file —
changes nothing (the worker deduplicates by id; the first import's coverage stays, and
the summary says how many articles GDELT had added by when).

Rows are checked one by one (a bad row is refused with its reason, the rest go in) but
never turned into objects of their own: a kept row adds its counts to its group, and
only a group's first row is decoded whole (``python -m bench gdelt``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from replay.gdelt.columns import Layout
from replay.gdelt.mapping import (
    Cells,
    GdeltFilter,
    RowRefused,
    added_cell,
    code_cell,
    country_cell,
    day_cell,
    kind_of,
    text,
    wrong_columns,
)
from schemas.codebook import cameo_label
from schemas.codec import parse_event
from schemas.events import DiplomaticEvent

__all__ = ["MAX_IDS", "Acts"]

#: How many of a group's row ids its record keeps (the counts cover every row).
MAX_IDS: Final = 50

Key = tuple[str, str, str, str]


@dataclass(slots=True)
class _Group:
    """The rows of one act so far: the first row, decoded, and the coverage sums."""

    first: list[str]
    layout: Layout
    day: datetime
    added_min: datetime
    added_max: datetime
    mentions: int
    sources: int
    articles: int
    tone: float
    ids: list[str]
    url: str
    rows: int = 1


class Acts:
    """The acts of the rows added so far, one per (ordered dyad, CAMEO code, day)."""

    def __init__(self, keep: GdeltFilter | None = None) -> None:
        self.keep = keep or GdeltFilter()
        self._filtered = bool(self.keep.countries or self.keep.dyads or self.keep.roots)
        self._groups: dict[Key, _Group] = {}
        #: Rows taken into a group (those of acts with too few sources too).
        self.kept = 0

    def __len__(self) -> int:
        return len(self._groups)

    def add(self, cells: Cells, layout: Layout) -> bool:
        """Take one row into its act; False if the filter leaves it out. RowRefused says
        why a row is not an act between two states (``skip``) or what is wrong with it."""
        if len(cells) != layout.columns:
            raise wrong_columns(len(cells), layout)
        actor = country_cell(cells[layout.actor1_country])
        target = country_cell(cells[layout.actor2_country])
        if actor == target:
            raise RowRefused("both actors in one country", "one country", skip=True)
        return self.add_between((actor, target), cells, layout)

    def add_between(self, states: tuple[str, str], cells: Cells, layout: Layout) -> bool:
        """:meth:`add` for a row of ``layout.columns`` cells whose two countries were
        found to be these two different states (:func:`~replay.gdelt.mapping.states_of`)."""
        actor, target = states
        code = code_cell(cells[layout.event_code])
        day, day_text = day_cell(cells[layout.sql_date])
        added, added_day = added_cell(cells[layout.date_added])
        if day_text > added_day:  # both validated YYYYMMDD digits
            raise RowRefused(
                f"act of {day.date()} dated after it was added ({added.date()})",
                "dated after added",
            )
        try:
            mentions = int(cells[layout.num_mentions] or 0)
            sources = int(cells[layout.num_sources] or 0)
            articles = int(cells[layout.num_articles] or 0)
            tone = float(cells[layout.avg_tone] or 0)
        except ValueError:
            raise RowRefused(
                "NumMentions, NumSources, NumArticles or AvgTone: not a number", "bad number"
            ) from None
        if self._filtered and not self.keep.keeps(actor, target, code):
            return False
        self.kept += 1
        key = (actor, target, code, day_text)
        group = self._groups.get(key)
        if group is None:
            first = _decoded(cells)
            url = first[layout.source_url] if layout.source_url is not None else ""
            self._groups[key] = _Group(
                first, layout, day, added, added, mentions, sources, articles, tone,
                [first[layout.global_event_id]], url,
            )  # fmt: skip
            return True
        group.rows += 1
        group.mentions += mentions
        group.sources += sources
        group.articles += articles
        group.tone += tone
        if added < group.added_min:
            group.added_min = added
        elif added > group.added_max:
            group.added_max = added
        if len(group.ids) < MAX_IDS:
            group.ids.append(text(cells[layout.global_event_id]))
        if not group.url and layout.source_url is not None:
            group.url = text(cells[layout.source_url])
        return True

    def records(self, recorded_at: datetime) -> list[DiplomaticEvent]:
        """One validated record per act reported by enough sources (the filter's
        ``min_sources``), in the order the acts first appeared."""
        enough = self.keep.enough_sources
        return [
            _record(key, group, recorded_at)
            for key, group in self._groups.items()
            if enough(group.sources)
        ]

    def too_few_sources(self) -> int:
        """The rows of the acts :meth:`records` leaves out for too few sources."""
        enough = self.keep.enough_sources
        return sum(g.rows for g in self._groups.values() if not enough(g.sources))


def _decoded(cells: Cells) -> list[str]:
    """A group's first row as text (one decode of the whole row, in C)."""
    if not cells or isinstance(cells[0], str):
        return list(cells)  # type: ignore[arg-type]
    return b"\t".join(cells).decode("utf-8", errors="replace").split("\t")  # type: ignore[arg-type]


def _record(key: Key, group: _Group, recorded_at: datetime) -> DiplomaticEvent:
    # Dates go in as objects, not ISO text: the contract checks them the same, cheaper.
    actor, target, code, day = key
    first, layout, url = group.first, group.layout, group.url
    publisher = url.split("/")[2].split("@")[-1].split(":")[0] if "://" in url else ""
    publisher = publisher or "GDELT"
    source = {
        "publisher": publisher[:200],
        "title": f"GDELT event {group.ids[0]}",
        "published": group.added_min.date(),
        "language": "en",
        **({"url": url} if url.startswith(("http://", "https://")) and len(url) < 2000 else {}),
    }
    return parse_event(
        {
            "event_id": f"gdelt-{actor}-{target}-{code}-{day}",
            "occurred_at": group.day,
            "date_precision": "day",
            "recorded_at": max(recorded_at, group.added_max),
            "actor": _party(actor, first[layout.actor1_type], first[layout.actor1_name]),
            "target": _party(target, first[layout.actor2_type], first[layout.actor2_name]),
            "cameo": code,
            "summary": (
                f"GDELT coded an act of {actor} towards {target}: CAMEO {code}, "
                f"{cameo_label(code)}, in {_coverage(group)}."
            ),
            "sources": [source],
            "coverage": {
                "dataset": "gdelt",
                "rows": group.rows,
                "mentions": group.mentions,
                "sources": group.sources,
                "articles": group.articles,
                "avg_tone": round(group.tone / group.rows, 3),
                "ids": group.ids,
            },
        }
    )


_UNPRINTABLE: Final = re.compile(r"[^\x20-\x7e\xa0-\u2027\u202f-\u2065\u206a-\uffff]")


def _party(country: str, type_code: str, name: str) -> dict[str, str]:
    party = {"country": country, "kind": kind_of(type_code)}
    clean = _UNPRINTABLE.sub("", name).strip()[:200]
    if clean:
        party["name"] = clean.title()
    return party


def _coverage(group: _Group) -> str:
    """How much coverage the record counts, and up to when: GDELT keeps adding rows of
    an act as further articles report it, and a later file's rows of an act already
    published are not counted again (the id is the same), so the summary says how many
    articles *by* the time its rows were added, not how many there will be."""
    articles = group.articles or group.rows  # NumArticles left empty: one a row, at least
    added = group.added_max
    when = added.strftime("%Y-%m-%d %H:%M UTC") if group.layout.columns == 61 else added.date()
    return f"{articles} article{'' if articles == 1 else 's'} GDELT added by {when}"
