"""``python -m bench``: the benchmark, a developer tool beside the ``dipwatch`` command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bench.generate import Shape
from bench.machine import machine_line
from bench.run import BenchOptions, run_bench
from infra.logs import configure_logging
from infra.settings import Settings

cli = typer.Typer(add_completion=False, help=__doc__)

#: The ``--broker`` option of the commands that start a broker of either kind.
BrokerKind = Annotated[
    str, typer.Option("--broker", help="embedded (Tansu) or kafka (Apache Kafka).")
]


@cli.command("all")
def bench(
    broker_kind: Annotated[
        str,
        typer.Option("--broker", help="embedded (Tansu) or kafka (Apache Kafka, started here)."),
    ] = "embedded",
    events: Annotated[int, typer.Option(help="Synthetic events to publish and fold.")] = 200_000,
    dyads: Annotated[int, typer.Option(help="Country pairs (Zipf-skewed activity).")] = 3_000,
    years: Annotated[float, typer.Option(help="Years of event time the events span.")] = 5.0,
    rate: Annotated[
        float, typer.Option(help="Offered load of the latency probe, events/s.")
    ] = 1000.0,
    latency_seconds: Annotated[float, typer.Option(help="Length of the latency probe.")] = 20.0,
    growth: Annotated[
        bool, typer.Option(help="Also measure RSS growth with events and dyads.")
    ] = True,
    scale_out: Annotated[
        bool, typer.Option(help="Also time two workers in one group against the one.")
    ] = True,
    rounds: Annotated[
        int,
        typer.Option(
            min=1,
            help="Rounds of the worker, ceiling and two-worker drains, each round back to "
            "back; the medians of the rates and of each round's ratios are reported.",
        ),
    ] = 3,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Write the summary here.")
    ] = None,
) -> None:
    """Measure publish, worker and raw-consume rates, publish-to-alert latency and RSS."""
    if broker_kind not in ("embedded", "kafka"):
        typer.secho(f"bench: --broker must be embedded or kafka, not {broker_kind!r}", err=True)
        raise typer.Exit(2)
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    options = BenchOptions(
        broker=broker_kind,  # type: ignore[arg-type]
        bootstrap=settings.bootstrap_servers,
        shape=Shape(events=events, dyads=dyads, years=years),
        rate=rate,
        latency_seconds=latency_seconds,
        growth=growth,
        scale_out=scale_out,
        rounds=rounds,
        json_path=json_path,
    )
    typer.echo(machine_line())
    run_bench(options)


@cli.command()
def offline(
    events: Annotated[int, typer.Option(help="Synthetic events.")] = 20_000,
    dyads: Annotated[int, typer.Option(help="Country pairs.")] = 500,
    years: Annotated[float, typer.Option(help="Years of event time.")] = 5.0,
    shared_events: Annotated[
        int,
        typer.Option(
            help="Events of the shared-fold row (its pairs scaled alike): a history-sized "
            "log, where the fork and the merge do not weigh."
        ),
    ] = 100_000,
) -> None:
    """The fold pipeline alone (no broker) and the decode, best of three runs."""
    from bench.micro import decode_rates, fold_parts, offline_rate, shared_rates
    from bench.probe_path import probe_path
    from folds.parallel import cores

    shape = Shape(events=events, dyads=dyads, years=years, seed=7)
    typer.echo(machine_line())
    typer.echo(offline_rate(shape))
    typer.echo(fold_parts(shape))
    scale = shared_events / events
    shared = Shape(events=shared_events, dyads=round(dyads * scale), years=years, seed=7)
    typer.echo(shared_rates(shared, max(2, min(cores(), 4))))
    typer.echo(decode_rates(shape))
    typer.echo(probe_path())
    typer.echo(machine_line())


@cli.command(name="gc")
def collector(
    events: Annotated[int, typer.Option(help="Synthetic events folded into the state.")] = 20_000,
    dyads: Annotated[int, typer.Option(help="Country pairs.")] = 500,
    years: Annotated[float, typer.Option(help="Years of event time.")] = 2.5,
) -> None:
    """What one full garbage collection costs a worker's process: imports, state."""
    from bench.collector import collection_line

    typer.echo(collection_line(Shape(events=events, dyads=dyads, years=years, seed=7)))


def _options(broker_kind: str) -> BenchOptions:
    """Logging as configured, and the broker to measure on (DIPWATCH_BOOTSTRAP_SERVERS
    if set, else one started here)."""
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    return BenchOptions(broker=broker_kind, bootstrap=settings.bootstrap_servers)  # type: ignore[arg-type]


@cli.command()
def latency(
    rates: Annotated[
        str, typer.Option(help="Offered loads, events/s, comma-separated.")
    ] = "100,1000",
    fetch_waits: Annotated[
        str, typer.Option(help="Worker fetch waits (ms) to compare; 1500 is Faust's own.")
    ] = "1500,500,10",
    windows: Annotated[
        str, typer.Option(help="Worker batch windows (s) to compare.")
    ] = "0.05,0.005",
    lingers: Annotated[
        str,
        typer.Option(help="Worker producer lingers (ms) to compare."),
    ] = "5",
    seconds: Annotated[float, typer.Option(help="Length of each probe.")] = 15.0,
    broker_kind: BrokerKind = "embedded",
    trace: Annotated[
        Path | None,
        typer.Option(
            help="Append each row, with every alert's send time and latency, "
            "to this file (JSON lines)."
        ),
    ] = None,
) -> None:
    """Publish-to-alert latency: a row per (fetch wait, batch window, linger, rate)."""
    from bench.latency_rows import run_latency_rows

    options = _options(broker_kind)
    typer.echo(machine_line())
    run_latency_rows(
        options,
        [float(r) for r in rates.split(",")],
        [int(w) for w in fetch_waits.split(",")],
        [float(w) for w in windows.split(",")],
        seconds,
        [float(w) for w in lingers.split(",")],
        trace,
    )


@cli.command()
def reads(
    held: Annotated[
        str, typer.Option(help="Records the read topic holds before each timed window.")
    ] = "0,20000,40000,80000",
    rate: Annotated[float, typer.Option(help="Records/s written and read back.")] = 100.0,
    seconds: Annotated[float, typer.Option(help="Length of each timed window.")] = 6.0,
    broker_kind: BrokerKind = "embedded",
) -> None:
    """The broker's CPU while a consumer follows a live topic, as the topic fills."""
    from bench.reads import run_reads

    options = _options(broker_kind)
    typer.echo(machine_line())
    run_reads(options, [int(h) for h in held.split(",")], rate, seconds)


@cli.command()
def memory(
    events: Annotated[
        str, typer.Option(help="Event counts, comma-separated: a fresh worker for each.")
    ] = "10000,20000,40000,80000,160000",
    dyads: Annotated[int, typer.Option(help="Country pairs, the same for every count.")] = 500,
    years_per_10k: Annotated[
        float, typer.Option(help="Years of event time per 10,000 events (the event rate).")
    ] = 1.25,
    broker_kind: BrokerKind = "embedded",
) -> None:
    """The worker's resident set, per process, as history grows at the same pairs."""
    from bench.memory import run_memory_rows

    options = _options(broker_kind)
    run_memory_rows(options, [int(n) for n in events.split(",")], dyads, years_per_10k)


@cli.command()
def soak(
    minutes: Annotated[float, typer.Option(help="How long the load is offered.")] = 60.0,
    rate: Annotated[float, typer.Option(help="Events offered per second.")] = 200.0,
    dyads: Annotated[int, typer.Option(help="Country pairs.")] = 500,
    years_per_10k: Annotated[
        float, typer.Option(help="Years of event time per 10,000 events (the event rate).")
    ] = 0.25,
    every: Annotated[float, typer.Option(help="Seconds between two samples.")] = 60.0,
    broker_kind: Annotated[
        str,
        typer.Option(
            "--broker",
            help="kafka (Apache Kafka) or embedded (Tansu, which keeps every record in "
            "memory: ~9.6 KiB an event here with the changelog, ~6.6 GiB an hour at 200/s).",
        ),
    ] = "kafka",
) -> None:
    """One worker under a steady load for a long time: its memory, sampled as it goes."""
    from bench.soak import run_soak

    run_soak(_options(broker_kind), minutes, rate, dyads, years_per_10k, every)


@cli.command()
def gdelt(
    rows: Annotated[int, typer.Option(help="Rows of the synthetic GDELT 2.0 day.")] = 300_000,
    broker_kind: BrokerKind = "embedded",
) -> None:
    """A synthetic GDELT day: read+filter+map rate, publish rate, first row to folded."""
    from bench.gdelt_run import run_gdelt_bench

    options = _options(broker_kind)
    typer.echo(machine_line())
    run_gdelt_bench(options, rows)


if __name__ == "__main__":
    cli(prog_name="python -m bench")
