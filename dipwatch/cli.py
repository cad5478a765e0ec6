"""The ``dipwatch`` command: broker, worker, replay, publish, timeline, alerts, demo, topics."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from dipwatch.ingest_cli import ingest
from dipwatch.shell import (
    KAFKA_EPOCH,
    connection_of,
    fail,
    load_settings,
    parse_date,
    parse_dyads,
    parse_speed,
)
from infra.settings import Settings
from schemas.alerts import Alert
from schemas.errors import DipwatchError
from schemas.filters import AlertFilter

__all__ = ["main"]

cli = typer.Typer(
    name="dipwatch",
    add_completion=False,
    no_args_is_help=True,
    help="Event-sourced streaming monitor of diplomatic relations.",
)


@cli.command()
def broker(
    port: Annotated[
        int | None, typer.Option(help="Port on 127.0.0.1 (default: a free one).")
    ] = None,
) -> None:
    """Run the embedded broker (Tansu) on loopback until Ctrl-C or SIGTERM."""
    settings = load_settings()
    from infra.brokers.tansu import MEMORY_WARNING, EmbeddedBroker

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with EmbeddedBroker(port or settings.embedded_port) as embedded:
            typer.echo(f"embedded broker ready: DIPWATCH_BOOTSTRAP_SERVERS={embedded.bootstrap}")
            typer.echo(f"note: {MEMORY_WARNING}")
            sys.stdout.flush()
            await stop.wait()
        typer.echo("embedded broker stopped")

    try:
        asyncio.run(run())
    except DipwatchError as exc:
        fail(str(exc))


@cli.command()
def worker(
    idle_timeout: Annotated[
        float | None, typer.Option(help="Stop after this many seconds without an event.")
    ] = None,
    max_runtime: Annotated[float | None, typer.Option(help="Stop after this many seconds.")] = None,
) -> None:
    """Run a Faust worker: fold events into state, raise alerts."""
    settings = load_settings()
    from query.service import register_web
    from streams.worker import run_worker

    try:
        run_worker(
            settings,
            connection_of(settings),
            idle_timeout_s=idle_timeout,
            max_runtime_s=max_runtime,
            extensions=[register_web] if settings.web_enabled else [],
        )
    except DipwatchError as exc:
        fail(f"worker: {exc}")


@cli.command()
def replay(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Files or folders (default: the bundled corpus).")
    ] = None,
    speed: Annotated[
        str, typer.Option(help="'max' or a factor of real time, e.g. 86400 (a day a second).")
    ] = "max",
    since: Annotated[
        str | None, typer.Option(help="Only events at or after this date (UTC).")
    ] = None,
    until: Annotated[str | None, typer.Option(help="Only events before this date (UTC).")] = None,
    dyad: Annotated[
        list[str] | None, typer.Option(help="Only this dyad, e.g. KAZ:RUS (repeatable).")
    ] = None,
    dry_run: Annotated[bool, typer.Option(help="Validate and summarise; publish nothing.")] = False,
    skip_invalid: Annotated[
        bool, typer.Option(help="Send invalid lines to the dead-letter topic instead of refusing.")
    ] = False,
    offline: Annotated[
        bool, typer.Option(help="Fold in memory without Kafka; print alerts as JSON lines.")
    ] = False,
    state: Annotated[
        Path | None, typer.Option(help="With --offline: write the final state as JSON here.")
    ] = None,
) -> None:
    """Validate event files, then publish them in event-time order (or fold offline)."""
    settings = load_settings()
    from infra.runtime import skip_teardown
    from replay.run import ReplayOptions, run_replay

    options = ReplayOptions(
        paths=tuple(paths or ()),
        speed=parse_speed(speed),
        since=parse_date(since),
        until=parse_date(until),
        dyads=parse_dyads(dyad),
        dry_run=dry_run,
        skip_invalid=skip_invalid,
        offline=offline,
        state_path=state,
        now=datetime.now(UTC),
    )
    skip_teardown()  # the log is all in memory: the OS frees it faster
    try:
        code = run_replay(settings, options)
    except (DipwatchError, FileNotFoundError) as exc:
        fail(f"replay: {exc}")
    raise typer.Exit(code)


@cli.command()
def publish(
    files: Annotated[list[Path], typer.Argument(help="JSON or YAML files: an event or a list.")],
    dry_run: Annotated[bool, typer.Option(help="Validate only; publish nothing.")] = False,
) -> None:
    """Validate analysts' events (every field of every file first), then publish them."""
    settings = load_settings()
    from infra.topics import Topics
    from replay.loader import Loaded
    from replay.publish import publish_events
    from schemas.intake import read_document

    try:
        items = [
            Loaded(event, str(path), index)
            for path in files
            for index, event in enumerate(
                read_document(
                    path, now=datetime.now(UTC), lateness_days=settings.allowed_lateness_days
                )
            )
        ]
    except DipwatchError as exc:
        fail(f"publish: {exc}")
    items.sort(key=lambda i: (i.event.occurred_at, i.event.event_id))
    if not dry_run:
        topic = Topics.from_settings(settings).events
        try:
            asyncio.run(publish_events(connection_of(settings), topic, items, max_outage_s=30))
        except DipwatchError as exc:
            fail(f"publish: {exc}")
    for item in items:
        typer.echo(f"{'valid' if dry_run else 'published'} {item.event.event_id} ({item.path})")


@cli.command()
def timeline(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Files or folders (default: the bundled corpus).")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Write into this Markdown file (between its markers); else stdout."),
    ] = None,
) -> None:
    """Fold the events offline and write the alerts and tension as a Markdown timeline."""
    settings = load_settings()
    from folds.offline import fold_offline
    from folds.registry import build_folds, tension_fold
    from replay.loader import bundled_corpus, load_paths
    from replay.timeline import render_timeline, splice

    chosen = list(paths or [bundled_corpus()])
    report = load_paths(chosen)
    if report.problems:
        for problem in report.problems:
            print(problem, file=sys.stderr)
        fail(f"timeline: {len(report.problems)} invalid record(s)", code=1)
    events = [item.event for item in report.events]
    folds = build_folds(settings)
    _, raised = fold_offline(folds, events)
    source = ", ".join(_shown(p) for p in chosen)
    text = render_timeline(tension_fold(settings), events, raised, source=source)
    if out is None:
        sys.stdout.write(text)
        return
    existing = out.read_text(encoding="utf-8") if out.exists() else ""
    out.write_text(splice(existing, text), encoding="utf-8")
    print(f"wrote {out}: {len(events)} events, {len(raised)} alerts")


def _shown(path: Path) -> str:
    """Return ``path`` relative to the working directory when it lies below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return path.name


@cli.command()
def alerts(
    dyad: Annotated[list[str] | None, typer.Option(help="Only this dyad (repeatable).")] = None,
    rule: Annotated[
        list[str] | None, typer.Option(help="Only this rule or aggregate (repeatable).")
    ] = None,
    severity: Annotated[
        str, typer.Option(help="Minimum severity: info, warning, high, critical.")
    ] = "info",
    from_beginning: Annotated[bool, typer.Option(help="Start at the first alert.")] = False,
    since: Annotated[
        str | None, typer.Option(help="Start at alerts with event time from this date.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print alerts as JSON lines.")] = False,
    max_alerts: Annotated[
        int | None, typer.Option("--max", help="Stop after this many alerts.")
    ] = None,
    idle_timeout: Annotated[
        float | None, typer.Option(help="Stop after this many idle seconds.")
    ] = None,
) -> None:
    """Follow the alert topics: from now (default), the beginning or a date."""
    settings = load_settings()
    from schemas.alerts import Severity

    try:
        chosen = Severity(severity)
    except ValueError:
        fail(f"unknown severity {severity!r}")
    if max_alerts is not None and max_alerts < 1:
        fail(f"--max must be at least 1, not {max_alerts}")
    start = "beginning" if from_beginning else (parse_date(since) or "end")
    if isinstance(start, datetime) and start < KAFKA_EPOCH:
        fail(f"--since {since}: alert topics hold no record before {KAFKA_EPOCH.date()}")
    wanted = AlertFilter(frozenset(parse_dyads(dyad)), frozenset(rule or ()), chosen)
    try:
        asyncio.run(_follow(settings, wanted, start, as_json, max_alerts, idle_timeout))
    except KeyboardInterrupt:
        pass
    except DipwatchError as exc:
        fail(f"alerts: {exc}")


async def _follow(
    settings: Settings,
    wanted: AlertFilter,
    start: str | datetime,
    as_json: bool,
    max_alerts: int | None,
    idle_timeout_s: float | None,
) -> int:
    from alerts.follow import follow_alerts, render_alert
    from infra.brokers.probe import wait_until_ready
    from infra.topics import Topics

    def show(alert: Alert) -> None:
        # JSON escapes control characters itself; the line form escapes them too.
        typer.echo(alert.model_dump_json() if as_json else render_alert(alert))

    bootstrap = connection_of(settings)
    await wait_until_ready(bootstrap, settings.connect_timeout_s)
    return await follow_alerts(
        bootstrap,
        Topics.from_settings(settings).all_alerts,
        show,
        start=start,
        alert_filter=wanted,
        max_alerts=max_alerts,
        idle_timeout_s=idle_timeout_s,
    )


@cli.command()
def demo(
    exit_after_replay: Annotated[
        bool, typer.Option(help="Exit once the replayed corpus is processed.")
    ] = False,
    speed: Annotated[
        str, typer.Option(help="Replay speed: 'max' or a factor of real time.")
    ] = "max",
) -> None:
    """Start the embedded broker, a worker and a replay of the corpus; print alerts."""
    settings = load_settings()
    from dipwatch.demo import run_demo

    try:
        code = asyncio.run(
            run_demo(settings, exit_after_replay=exit_after_replay, speed=parse_speed(speed))
        )
    except KeyboardInterrupt:
        code = 0
    except DipwatchError as exc:
        fail(f"demo: {exc}")
    raise typer.Exit(code)


@cli.command("topics")
def topics_cmd(
    create: Annotated[
        bool, typer.Option(help="Create the missing topics on the broker (compose's init).")
    ] = False,
) -> None:
    """Print the topic registry as JSON (name, key, value, partitions, configs),
    Faust's compacted changelogs included; with --create, create what is missing."""
    settings = load_settings()
    from dataclasses import asdict

    from infra.admin import prepare_topics, project_topics

    specs = project_topics(settings)
    if create:
        try:
            created = asyncio.run(prepare_topics(settings, connection_of(settings)))
        except DipwatchError as exc:
            fail(f"topics: {exc}")
        typer.echo(f"created {len(created)} of {len(specs)} topics: {', '.join(created) or '-'}")
        return
    typer.echo(json.dumps([asdict(s) for s in specs], indent=2))


cli.add_typer(ingest)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``dipwatch`` console script."""
    try:
        cli(args=list(argv) if argv is not None else None, prog_name="dipwatch")
    except SystemExit as exc:
        from infra.runtime import end_process, teardown_skipped

        if teardown_skipped() and (exc.code is None or isinstance(exc.code, int)):
            end_process(exc.code or 0)  # a command that read a whole log into memory
        raise
