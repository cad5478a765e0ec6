"""``dipwatch ingest``: real coded events into the log (GDELT)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["ingest"]

ingest = typer.Typer(
    name="ingest", no_args_is_help=True, help="Import coded event datasets (GDELT)."
)


@ingest.command("gdelt")
def gdelt(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="GDELT event files (.CSV, .CSV.zip) or folders of them."),
    ] = None,
    countries: Annotated[
        str, typer.Option(help="Keep acts among these countries only, e.g. KAZ,RUS,UKR.")
    ] = "",
    dyad: Annotated[
        list[str] | None, typer.Option(help="Keep only this dyad, e.g. KAZ:RUS (repeatable).")
    ] = None,
    roots: Annotated[
        str, typer.Option(help="Keep only these CAMEO roots, e.g. 10-20 or 04,10-14.")
    ] = "",
    min_sources: Annotated[
        int, typer.Option(help="Keep only rows reported by at least this many sources.")
    ] = 0,
    dry_run: Annotated[bool, typer.Option(help="Read and summarise; publish nothing.")] = False,
    offline: Annotated[
        bool, typer.Option(help="Fold in memory without Kafka; print alerts as JSON lines.")
    ] = False,
    state: Annotated[
        Path | None, typer.Option(help="With --offline: write the final state as JSON here.")
    ] = None,
) -> None:
    """Read GDELT event files, keep acts between two states, collapse the rows of one act
    and publish them (bad rows to the dead-letter topic with file:line)."""
    from dipwatch.cli import _dyads, _fail, _settings
    from replay.gdelt.mapping import GdeltFilter
    from replay.ingest import IngestOptions, run_ingest
    from schemas.errors import DipwatchError

    settings = _settings()
    if not paths:
        _fail("ingest gdelt: name GDELT event files or folders")
    try:
        keep = GdeltFilter.parse(countries, _dyads(dyad), roots, min_sources)
    except ValueError as exc:
        _fail(f"ingest gdelt: {exc}")
    options = IngestOptions(tuple(paths), keep, dry_run, offline, state)
    try:
        code = run_ingest(settings, options)
    except (DipwatchError, FileNotFoundError) as exc:
        _fail(f"ingest gdelt: {exc}")
    raise typer.Exit(code)
