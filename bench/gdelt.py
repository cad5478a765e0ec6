"""GDELT-shaped event rows and files, for the tests and the GDELT benchmark.

``row`` lays out the fields the import reads at their columns for a layout (the rest
stay empty or hold plausible filler); ``synthetic_day`` makes a GDELT 2.0 day with a
realistic mix of actors: about 40 % of the rows between two states, the rest with a
region, an unnamed or a one-country actor.
"""

from __future__ import annotations

import random
import zipfile
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Final

from replay.gdelt.columns import LAYOUTS

__all__ = ["row", "synthetic_day", "write_file"]

_STATES: Final = (
    "USA",
    "RUS",
    "UKR",
    "CHN",
    "KAZ",
    "GBR",
    "FRA",
    "DEU",
    "IRN",
    "ISR",
    "TUR",
    "IND",
    "PAK",
    "JPN",
    "KOR",
    "PRK",
    "POL",
    "BLR",
    "SYR",
    "EGY",
)
_OTHERS: Final = ("EUR", "AFR", "MEA", "", "")
_CODES: Final = (
    "010",
    "020",
    "036",
    "040",
    "042",
    "043",
    "051",
    "057",
    "110",
    "111",
    "112",
    "114",
    "120",
    "130",
    "138",
    "160",
    "161",
    "172",
    "190",
    "193",
)
_TYPES: Final = ("GOV", "MIL", "MED", "BUS", "", "", "GOV", "LEG")


def row(
    columns: int = 61,
    *,
    event_id: str = "1",
    day: str = "20221005",
    actor1: str = "KAZ",
    actor2: str = "RUS",
    type1: str = "GOV",
    type2: str = "GOV",
    code: str = "110",
    sources: int = 1,
    mentions: int = 2,
    articles: int = 1,
    tone: float = -2.5,
    added: str = "20221005120000",
    url: str = "https://news.example/story",
) -> str:
    """One tab-separated row of a GDELT file of ``columns`` columns (57, 58 or 61)."""
    layout = LAYOUTS[columns]
    cells = [""] * columns
    values = {
        layout.global_event_id: event_id,
        layout.sql_date: day,
        2: day[:6],
        3: day[:4],
        layout.actor1_name: actor1 and f"{actor1} OFFICIAL",
        layout.actor1_country: actor1,
        layout.actor1_type: type1,
        layout.actor2_name: actor2 and f"{actor2} OFFICIAL",
        layout.actor2_country: actor2,
        layout.actor2_type: type2,
        layout.event_code: code,
        layout.event_code + 1: code[:3],
        layout.event_code + 2: code[:2],
        layout.num_mentions: str(mentions),
        layout.num_sources: str(sources),
        layout.num_articles: str(articles),
        layout.avg_tone: f"{tone:.4f}",
        layout.date_added: added if columns == 61 else added[:8],
    }
    if layout.source_url is not None:
        values[layout.source_url] = url
    for index, value in values.items():
        cells[index] = value
    return "\t".join(cells)


def write_file(path: Path, rows: list[str], *, zipped: bool | None = None) -> Path:
    """Write rows as a GDELT file; zipped when the name ends in .zip."""
    text = "".join(r + "\n" for r in rows).encode()
    if zipped if zipped is not None else path.name.lower().endswith(".zip"):
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(path.name.removesuffix(".zip"), text)
    else:
        path.write_bytes(text)
    return path


def synthetic_day(rows: int, day: date, seed: int = 3) -> Iterator[str]:
    """``rows`` GDELT 2.0 rows of one day; about 40 % between two different states."""
    rnd = random.Random(seed)
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    for i in range(rows):
        between_states = rnd.random() < 0.4
        a = rnd.choice(_STATES)
        b = rnd.choice([s for s in _STATES if s != a]) if between_states else rnd.choice(_OTHERS)
        # GDELT 2.0 stamps every row of a 15-minute file with the file's time.
        added = start + timedelta(minutes=15 * (i * 96 // rows))
        yield row(
            event_id=str(1_000_000_000 + i),
            day=(day - timedelta(days=rnd.choice((0, 0, 0, 1, 2)))).strftime("%Y%m%d"),
            actor1=a,
            actor2=b,
            type1=rnd.choice(_TYPES),
            type2=rnd.choice(_TYPES),
            code=rnd.choice(_CODES),
            sources=rnd.choice((1, 1, 1, 2, 3, 5)),
            mentions=rnd.randint(1, 20),
            articles=rnd.randint(1, 10),
            tone=rnd.uniform(-10, 10),
            added=added.strftime("%Y%m%d%H%M%S"),
            url=f"https://news{rnd.randint(1, 500)}.example/{i}",
        )
