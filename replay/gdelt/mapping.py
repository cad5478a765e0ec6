"""From a GDELT row to a Dipwatch act: countries, kinds of party, CAMEO code, filters,
and the rule by which many rows that report one act become one record.

**One act, many rows.** GDELT codes every article, so one summons reported by forty
outlets arrives as dozens of rows. Rows are collapsed by (actor country, target country,
CAMEO code, day of the act): one record per group, whose ``coverage`` keeps the rows'
ids and their summed mentions, sources and articles and mean tone. The act weighs once
in tension, however much it was covered; its id is derived from the group's key, so an
import of the same rows again — or of further rows of the group in a later file —
changes nothing (the worker deduplicates by id; the first import's coverage stays).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Final

import pycountry

from replay.gdelt.columns import Layout
from schemas.codebook import cameo_codes
from schemas.codec import parse_event
from schemas.events import DiplomaticEvent, parse_dyad

__all__ = [
    "CAMEO_TO_ISO",
    "REGIONS",
    "Act",
    "GdeltFilter",
    "RowRefused",
    "collapse",
    "country_of",
    "kind_of",
    "parse_row",
    "skip_kind",
]

#: CAMEO's own country codes where they differ from ISO 3166-1 alpha-3.
CAMEO_TO_ISO: Final = {"ROM": "ROU", "ZAR": "COD", "TMP": "TLS", "WSB": "PSE", "GZS": "PSE"}
#: CAMEO region and bloc codes: not states, so not dyads.
REGIONS: Final = frozenset(
    [
        "AFR",
        "ASA",
        "BLK",
        "CRB",
        "CAU",
        "CFR",
        "CAS",
        "CEU",
        "EIN",
        "EAF",
        "EEU",
        "EUR",
        "LAM",
        "MEA",
        "MDT",
        "NAF",
        "NMR",
        "PGS",
        "SCN",
        "SAM",
        "SAS",
        "SEA",
        "SAF",
        "WAF",
        "WST",
        "BAG",
    ]
)
#: CAMEO actor type codes -> the project's kind of party; no type: the state itself.
_KINDS: Final = {
    "GOV": "government",
    "MIL": "military",
    "LEG": "legislator",
    "JUD": "state_body",
    "COP": "state_body",
    "SPY": "state_body",
    "MED": "media",
    "BUS": "business",
    "MNC": "business",
}


class RowRefused(ValueError):
    """A row the import does not take, with the reason; ``skip`` rows are filtered out
    (not the row's fault: a region, a filter), the others go to the dead-letter topic."""

    def __init__(self, reason: str, kind: str, *, skip: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        #: A short label to count by ("region or bloc", "unknown CAMEO code" ...).
        self.kind = kind
        self.skip = skip


@cache
def _country(code: str) -> str | tuple[str, str]:
    """The country, or (reason, kind) why not. Not the exception itself: a cached
    exception raised again keeps every traceback it was raised with."""
    try:
        return _lookup_country(code)
    except RowRefused as exc:
        return (exc.reason, exc.kind)


def country_of(code: str) -> str:
    """The ISO alpha-3 country a CAMEO country code stands for; RowRefused otherwise
    (looked up once per code: a day of GDELT has a few hundred codes in 300,000 rows)."""
    found = _country(code)
    if isinstance(found, tuple):
        raise RowRefused(*found, skip=True)
    return found


def _lookup_country(code: str) -> str:
    if not code:
        raise RowRefused("no country", "no country", skip=True)
    if code in REGIONS:
        raise RowRefused(f"region or bloc {code}", "region or bloc", skip=True)
    iso = CAMEO_TO_ISO.get(code, code)
    if len(iso) != 3 or pycountry.countries.get(alpha_3=iso) is None:
        raise RowRefused(f"not a state: {code}", "not a state", skip=True)
    return iso


def kind_of(type_code: str) -> str:
    """The kind of party a CAMEO actor type code names (civil society if not a state's)."""
    if not type_code:
        return "state"
    return _KINDS.get(type_code, "civil_society")


@dataclass(slots=True)  # not frozen: a frozen dataclass's __init__ is several times slower
class Act:
    """One row, read: the fields the record needs."""

    row_id: str
    day: datetime
    added: datetime
    actor: str
    actor_kind: str
    actor_name: str
    target: str
    target_kind: str
    target_name: str
    code: str
    mentions: int
    sources: int
    articles: int
    tone: float
    url: str

    #: SQLDATE as given (YYYYMMDD).
    day_text: str = ""

    @property
    def key(self) -> tuple[str, str, str, str]:
        """What makes rows one act: ordered dyad, CAMEO code, day."""
        return (self.actor, self.target, self.code, self.day_text)


@cache
def _midnight(text: str) -> datetime | None:
    """``YYYYMMDD`` as a UTC midnight, or None (cached: a file holds a few days)."""
    if len(text) != 8 or not text.isdigit():
        return None
    try:
        return datetime(int(text[:4]), int(text[4:6]), int(text[6:]), tzinfo=UTC)
    except ValueError:
        return None


def _day(text: str, what: str) -> datetime:
    day = _midnight(text)
    if day is None:
        raise RowRefused(f"{what}: not a date YYYYMMDD: {text!r}", "bad date")
    return day


@cache
def _added(text: str) -> datetime:
    """DATEADDED: ``YYYYMMDD`` (GDELT 1.0) or ``YYYYMMDDHHMMSS`` (2.0; every row of one
    15-minute file carries the file's time, hence the cache)."""
    day = _midnight(text[:8])
    clock = text[8:]
    if day is None or (clock and (len(clock) != 6 or not clock.isdigit())):
        raise RowRefused(f"DATEADDED: not a date: {text!r}", "bad date")
    if not clock:
        return day
    hours, minutes, seconds = int(clock[:2]), int(clock[2:4]), int(clock[4:])
    if hours > 23 or minutes > 59 or seconds > 59:
        raise RowRefused(f"DATEADDED: not a date: {text!r}", "bad date")
    return day + timedelta(hours=hours, minutes=minutes, seconds=seconds)


Cells = Sequence[str] | Sequence[bytes]


def _text(cell: str | bytes) -> str:
    return cell if isinstance(cell, str) else cell.decode("utf-8", errors="replace")


@cache
def _country_cell(cell: str | bytes) -> str | tuple[str, str]:
    return _country(_text(cell))


def skip_kind(cells: Cells, layout: Layout) -> str | None:
    """Why a row is not an act between two different states, as a count label; None if
    it is one (or is malformed: :func:`parse_row` says how). Raises nothing: most rows of
    a GDELT file are skipped here, cheaply."""
    if len(cells) != layout.columns:
        return None
    actor = _country_cell(cells[layout.actor1_country])
    if isinstance(actor, tuple):
        return actor[1]
    target = _country_cell(cells[layout.actor2_country])
    if isinstance(target, tuple):
        return target[1]
    return "one country" if actor == target else None


def parse_row(raw_cells: Cells, layout: Layout) -> Act:
    """Read one row of ``layout``; RowRefused says why a row is not an act between two
    states, or what is wrong with it."""
    if len(raw_cells) != layout.columns:
        raise RowRefused(
            f"{len(raw_cells)} columns, expected {layout.columns} ({layout.name})",
            "wrong columns",
        )
    cells = _decoded(raw_cells)
    actor = country_of(cells[layout.actor1_country])
    target = country_of(cells[layout.actor2_country])
    if actor == target:
        raise RowRefused("both actors in one country", "one country", skip=True)
    code = cells[layout.event_code]
    if code not in cameo_codes():
        raise RowRefused(f"EventCode: unknown CAMEO code {code!r}", "unknown CAMEO code")
    day_text, added_text = cells[layout.sql_date], cells[layout.date_added]
    day = _day(day_text, "SQLDATE")
    added = _added(added_text)
    if day_text > added_text[:8]:  # both validated YYYYMMDD digits
        raise RowRefused(
            f"act of {day.date()} dated after it was added ({added.date()})", "dated after added"
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
    return Act(
        row_id=cells[layout.global_event_id],
        day=day,
        added=added,
        actor=actor,
        actor_kind=kind_of(cells[layout.actor1_type]),
        actor_name=cells[layout.actor1_name],
        target=target,
        target_kind=kind_of(cells[layout.actor2_type]),
        target_name=cells[layout.actor2_name],
        code=code,
        mentions=mentions,
        sources=sources,
        articles=articles,
        tone=tone,
        url=cells[layout.source_url] if layout.source_url is not None else "",
        day_text=day_text,
    )


def _decoded(cells: Cells) -> Sequence[str]:
    """The cells of a kept row as text (one decode of the whole row, in C)."""
    if not cells or isinstance(cells[0], str):
        return cells  # type: ignore[return-value]
    return b"\t".join(cells).decode("utf-8", errors="replace").split("\t")  # type: ignore[arg-type]


@dataclass(frozen=True)
class GdeltFilter:
    """Which acts to keep: among these countries (both sides), these dyads, these CAMEO
    roots, reported by at least this many sources."""

    countries: frozenset[str] = frozenset()
    dyads: frozenset[str] = frozenset()
    roots: frozenset[int] = frozenset()
    min_sources: int = 0

    @classmethod
    def parse(
        cls, countries: str = "", dyads: Iterable[str] = (), roots: str = "", min_sources: int = 0
    ) -> GdeltFilter:
        """From the command line's forms: ``KAZ,RUS``, ``KAZ:RUS``, ``10-20,04``."""
        wanted = frozenset(c.strip().upper() for c in countries.split(",") if c.strip())
        codes: set[int] = set()
        for part in (p.strip() for p in roots.split(",") if p.strip()):
            low, _, high = part.partition("-")
            codes.update(range(int(low), int(high or low) + 1))
        return cls(wanted, frozenset(parse_dyad(d) for d in dyads), frozenset(codes), min_sources)

    def keeps(self, act: Act) -> bool:
        return (
            (not self.countries or {act.actor, act.target} <= self.countries)
            and (not self.dyads or ":".join(sorted((act.actor, act.target))) in self.dyads)
            and (not self.roots or int(act.code[:2]) in self.roots)
            and act.sources >= self.min_sources
        )


@dataclass
class _Group:
    acts: list[Act] = field(default_factory=list)


def collapse(acts: Iterable[Act], recorded_at: datetime) -> list[DiplomaticEvent]:
    """One record per (ordered dyad, CAMEO code, day), in the order groups appear."""
    groups: dict[tuple[str, str, str, str], list[Act]] = {}
    for act in acts:
        groups.setdefault(act.key, []).append(act)
    return [_record(key, rows, recorded_at) for key, rows in groups.items()]


def _record(
    key: tuple[str, str, str, str], rows: list[Act], recorded_at: datetime
) -> DiplomaticEvent:
    first = rows[0]
    actor, target, code, day = key
    url = next((r.url for r in rows if r.url), "")
    publisher = url.split("/")[2].split("@")[-1].split(":")[0] if "://" in url else ""
    publisher = publisher or "GDELT"
    source = {
        "publisher": publisher[:200],
        "title": f"GDELT event {first.row_id}",
        "published": min(r.added for r in rows).date().isoformat(),
        "language": "en",
        **({"url": url} if url.startswith(("http://", "https://")) and len(url) < 2000 else {}),
    }
    return parse_event(
        {
            "event_id": f"gdelt-{actor}-{target}-{code}-{day}",
            "occurred_at": first.day.isoformat(),
            "date_precision": "day",
            "recorded_at": max(recorded_at, max(r.added for r in rows)).isoformat(),
            "actor": _party(actor, first.actor_kind, first.actor_name),
            "target": _party(target, first.target_kind, first.target_name),
            "cameo": code,
            "summary": (
                f"GDELT coded an act of {actor} towards {target}, CAMEO {code}, "
                f"in {len(rows)} report(s)."
            ),
            "sources": [source],
            "coverage": {
                "dataset": "gdelt",
                "rows": len(rows),
                "mentions": sum(r.mentions for r in rows),
                "sources": sum(r.sources for r in rows),
                "articles": sum(r.articles for r in rows),
                "avg_tone": round(sum(r.tone for r in rows) / len(rows), 3),
                "ids": [r.row_id for r in rows[:50]],
            },
        }
    )


_UNPRINTABLE: Final = re.compile(r"[^\x20-\x7e\xa0-\u2027\u202f-\u2065\u206a-\uffff]")


def _party(country: str, kind: str, name: str) -> dict[str, str]:
    party = {"country": country, "kind": kind}
    clean = _UNPRINTABLE.sub("", name).strip()[:200]
    if clean:
        party["name"] = clean.title()
    return party
