"""How much reporting stands behind an act imported from a coded dataset."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from schemas.text import CleanText

__all__ = ["Coverage"]


class Coverage(BaseModel):
    """The dataset rows collapsed into one act and their counts (GDELT: one row per
    article that coded the act). Provenance only: the act weighs once in tension."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    dataset: CleanText = Field(min_length=1, max_length=40)
    rows: int = Field(ge=1)
    mentions: int = Field(ge=0)
    sources: int = Field(ge=0)
    articles: int = Field(ge=0)
    avg_tone: float = Field(ge=-100, le=100)
    #: The dataset's own ids of the rows (the first 50).
    ids: tuple[Annotated[str, Field(pattern=r"^[A-Za-z0-9._:-]{1,40}$")], ...] = Field(
        default=(), max_length=50
    )
