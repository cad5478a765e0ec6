"""The columns of GDELT's event files that the import reads, per layout.

GDELT 1.0 daily files have 57 columns (58 with SOURCEURL, from April 2013); GDELT 2.0
15-minute export files have 61 (it adds the three ``*_ADM2Code`` columns and dates
``DATEADDED`` to the second). A file's layout is told by its column count.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = ["LAYOUTS", "Layout"]


@dataclass(frozen=True)
class Layout:
    """Where the fields the import reads sit in a row of one layout."""

    name: str
    columns: int
    global_event_id: int = 0
    sql_date: int = 1
    actor1_name: int = 6
    actor1_country: int = 7
    actor1_type: int = 12
    actor2_name: int = 16
    actor2_country: int = 17
    actor2_type: int = 22
    event_code: int = 26
    num_mentions: int = 31
    num_sources: int = 32
    num_articles: int = 33
    avg_tone: int = 34
    date_added: int = 56
    source_url: int | None = None


#: By column count. GDELT 2.0: ADM2 codes at 39, 47, 55 push DATEADDED to 59.
LAYOUTS: Final = {
    57: Layout("gdelt1", 57),
    58: Layout("gdelt1", 58, source_url=57),
    61: Layout("gdelt2", 61, date_added=59, source_url=60),
}
