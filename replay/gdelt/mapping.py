"""From a GDELT row's cells to what a Dipwatch act needs: countries, kinds of party,
CAMEO code, dates, and the filters. How the rows of one act become one record:
replay/gdelt/acts.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Final

import pycountry

from replay.gdelt.columns import Layout
from schemas.codebook import cameo_codes
from schemas.events import parse_dyad

__all__ = [
    "CAMEO_TO_ISO",
    "REGIONS",
    "Cells",
    "GdeltFilter",
    "RowRefused",
    "added_cell",
    "code_cell",
    "country_cell",
    "day_cell",
    "kind_of",
    "states_of",
    "text",
    "wrong_columns",
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


def _midnight(value: str) -> datetime | None:
    """``YYYYMMDD`` as a UTC midnight, or None."""
    if len(value) != 8 or not value.isdigit():
        return None
    try:
        return datetime(int(value[:4]), int(value[4:6]), int(value[6:]), tzinfo=UTC)
    except ValueError:
        return None


def _added(value: str) -> datetime:
    """DATEADDED: ``YYYYMMDD`` (GDELT 1.0) or ``YYYYMMDDHHMMSS`` (2.0)."""
    day = _midnight(value[:8])
    clock = value[8:]
    if day is None or (clock and (len(clock) != 6 or not clock.isdigit())):
        raise RowRefused(f"DATEADDED: not a date: {value!r}", "bad date")
    if not clock:
        return day
    hours, minutes, seconds = int(clock[:2]), int(clock[2:4]), int(clock[4:])
    if hours > 23 or minutes > 59 or seconds > 59:
        raise RowRefused(f"DATEADDED: not a date: {value!r}", "bad date")
    return day + timedelta(hours=hours, minutes=minutes, seconds=seconds)


Cells = Sequence[str] | Sequence[bytes]


def text(cell: str | bytes) -> str:
    """A cell as text."""
    return cell if isinstance(cell, str) else cell.decode("utf-8", errors="replace")


# The cell readers below are cached on the raw cell: a file holds a few hundred country
# and CAMEO codes, a few days and one DATEADDED per 15-minute file in 100,000s of rows.
# A refusal is cached as its (reason, kind), not as the exception: a cached exception
# raised again keeps every traceback it was raised with.
_CACHED_CELLS: Final = 4096


@lru_cache(maxsize=_CACHED_CELLS)
def _country_of_cell(cell: str | bytes) -> str | tuple[str, str]:
    try:
        return _lookup_country(text(cell))
    except RowRefused as exc:
        return (exc.reason, exc.kind)


def country_cell(cell: str | bytes) -> str:
    """The ISO alpha-3 country a CAMEO country code (a raw cell) stands for; RowRefused
    (``skip``) for a region, a bloc, no code or anything not a state."""
    found = _country_of_cell(cell)
    if isinstance(found, tuple):
        raise RowRefused(*found, skip=True)
    return found


@lru_cache(maxsize=_CACHED_CELLS)
def _code_of_cell(cell: str | bytes) -> str | None:
    code = text(cell)
    return code if code in cameo_codes() else None


def code_cell(cell: str | bytes) -> str:
    """EventCode: a CAMEO code of the project's codebook; RowRefused otherwise."""
    code = _code_of_cell(cell)
    if code is None:
        raise RowRefused(f"EventCode: unknown CAMEO code {text(cell)!r}", "unknown CAMEO code")
    return code


@lru_cache(maxsize=_CACHED_CELLS)
def _day_of_cell(cell: str | bytes) -> tuple[datetime, str] | None:
    day_text = text(cell)
    day = _midnight(day_text)
    return None if day is None else (day, day_text)


def day_cell(cell: str | bytes) -> tuple[datetime, str]:
    """SQLDATE: the day of the act (UTC midnight) and its ``YYYYMMDD``."""
    found = _day_of_cell(cell)
    if found is None:
        raise RowRefused(f"SQLDATE: not a date YYYYMMDD: {text(cell)!r}", "bad date")
    return found


@lru_cache(maxsize=_CACHED_CELLS)
def _added_of_cell(cell: str | bytes) -> tuple[datetime, str] | tuple[str, str]:
    added_text = text(cell)
    try:
        return (_added(added_text), added_text[:8])
    except RowRefused as exc:
        return (exc.reason, exc.kind)


def added_cell(cell: str | bytes) -> tuple[datetime, str]:
    """DATEADDED: when GDELT recorded the row, and its ``YYYYMMDD``."""
    found = _added_of_cell(cell)
    if isinstance(found[0], str):
        raise RowRefused(*found)
    return found


def wrong_columns(columns: int, layout: Layout) -> RowRefused:
    """The refusal of a row of ``columns`` cells in a file of ``layout``."""
    return RowRefused(
        f"{columns} columns, expected {layout.columns} ({layout.name})", "wrong columns"
    )


def states_of(cells: Cells, layout: Layout) -> tuple[str, str] | str:
    """The row's two different states, or why it is not an act between two (a count
    label). Reads only the two country cells (``cells`` may be a row split no further
    than the second) and raises nothing: most rows of a GDELT file are skipped here."""
    actor = _country_of_cell(cells[layout.actor1_country])
    if isinstance(actor, tuple):
        return actor[1]
    target = _country_of_cell(cells[layout.actor2_country])
    if isinstance(target, tuple):
        return target[1]
    return "one country" if actor == target else (actor, target)


@dataclass(frozen=True)
class GdeltFilter:
    """Which acts to keep: among these countries (both sides), these dyads, these CAMEO
    roots, reported by at least this many sources (the act's rows' ``NumSources``
    summed, as its ``coverage.sources``: one act's rows are often one source each)."""

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

    def keeps(self, actor: str, target: str, code: str) -> bool:
        """Whether a row of an act of ``actor`` towards ``target`` coded ``code`` is kept
        (the sources are counted per act, over its rows: :meth:`enough_sources`)."""
        return (
            (not self.countries or (actor in self.countries and target in self.countries))
            and (not self.dyads or ":".join(sorted((actor, target))) in self.dyads)
            and (not self.roots or int(code[:2]) in self.roots)
        )

    def enough_sources(self, sources: int) -> bool:
        """Whether an act whose rows count ``sources`` sources in all is kept."""
        return sources >= self.min_sources
