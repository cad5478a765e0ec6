"""``dipwatch ingest``: real coded events into the log (GDELT)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from dipwatch.shell import connection_of, fail, load_settings, parse_date, parse_dyads

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
        str | None,
        typer.Option(
            help="Keep acts among these countries only, e.g. KAZ,RUS,UKR "
            "(default: DIPWATCH_GDELT_COUNTRIES)."
        ),
    ] = None,
    dyad: Annotated[
        list[str] | None, typer.Option(help="Keep only this dyad, e.g. KAZ:RUS (repeatable).")
    ] = None,
    roots: Annotated[
        str, typer.Option(help="Keep only these CAMEO roots, e.g. 10-20 or 04,10-14.")
    ] = "",
    min_sources: Annotated[
        int,
        typer.Option(
            help="Keep only acts reported by at least this many sources (their rows summed)."
        ),
    ] = 0,
    dry_run: Annotated[bool, typer.Option(help="Read and summarise; publish nothing.")] = False,
    offline: Annotated[
        bool, typer.Option(help="Fold in memory without Kafka; print alerts as JSON lines.")
    ] = False,
    state: Annotated[
        Path | None, typer.Option(help="With --offline: write the final state as JSON here.")
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="Backfill the export files from this time (UTC).")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="Backfill the export files before this time (UTC).")
    ] = None,
    follow: Annotated[
        bool, typer.Option(help="Follow lastupdate.txt, importing each new export file once.")
    ] = False,
    max_runtime: Annotated[
        float | None, typer.Option(help="With --follow: stop after this many seconds.")
    ] = None,
) -> None:
    """Read GDELT event files, keep acts between two states, collapse the rows of one act
    and publish them (bad rows to the dead-letter topic with file:line)."""
    from replay.ingest import IngestOptions, run_ingest
    from schemas.errors import DipwatchError

    settings = load_settings()
    feed = follow or since is not None or until is not None
    if bool(paths) == feed:
        fail("ingest gdelt: name files or folders, or --since/--until, or --follow")
    keep = _filter(
        settings.gdelt_countries if countries is None else countries, dyad, roots, min_sources
    )
    try:
        if feed:
            from replay.feed_run import FeedOptions, run_feed  # (aiohttp: only for the feed)

            connection_of(settings)
            options = FeedOptions(keep, parse_date(since), parse_date(until), follow, max_runtime)
            code = run_feed(settings, options)
        else:
            from infra.runtime import skip_teardown

            skip_teardown()  # the acts are all in memory: the OS frees them faster
            code = run_ingest(
                settings, IngestOptions(tuple(paths or ()), keep, dry_run, offline, state)
            )
    except (DipwatchError, FileNotFoundError) as exc:
        fail(f"ingest gdelt: {exc}")
    raise typer.Exit(code)


def _filter(countries: str, dyads: list[str] | None, roots: str, min_sources: int) -> Any:
    from replay.gdelt.mapping import GdeltFilter

    try:
        return GdeltFilter.parse(countries, parse_dyads(dyads), roots, min_sources)
    except ValueError as exc:
        fail(f"ingest gdelt: {exc}")
