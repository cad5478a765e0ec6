"""``python -m bench offline``'s breakdown of the offline fold (figures, not pass/fail:
only that every part is measured and printed), the latency probe's records and the
memory rows' readings, the soak's lines and the collector's costs."""

from __future__ import annotations

import gc
import math
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from bench import machine
from bench.collector import collection_line
from bench.generate import Shape
from bench.latency import STEP, _quantiles, kept_pace, probe_record
from bench.latency_rows import _line as latency_line
from bench.machine import _loop, machine_line
from bench.memory import _line, _resident
from bench.micro import fold_parts, shared_rates
from bench.probe_path import _records, probe_path
from bench.procs import cpu_of
from bench.report import render
from bench.soak import _line as soak_line
from bench.soak import summary as soak_summary
from schemas.codec import decode_event
from schemas.events import dyad_of


def test_the_offline_breakdown_times_each_fold_the_engine_and_the_whole() -> None:
    line = fold_parts(Shape(events=300, dyads=20, years=0.5, seed=3))
    parts = dict(re.findall(r"([a-z][a-z ]*?) (\d+\.\d)", line.split(": ", 1)[1]))
    assert set(parts) == {"tension", "summons", "envoys", "engine", "whole fold"}
    assert all(float(v) > 0 for v in parts.values())


def test_the_shared_fold_is_timed_in_one_process_and_in_several_with_the_same_alerts() -> None:
    line = shared_rates(Shape(events=400, dyads=20, years=0.5, seed=3), jobs=2, repeat=1)
    found = re.fullmatch(
        r"offline fold shared: 1 process ([\d,]+) events/s, 2 processes ([\d,]+) events/s "
        r"\((\d+\.\d\d)x; (\d+) alerts; 400 events, 20 pairs\)",
        line,
    )
    assert found, line  # one alert count: both folds raised as many
    assert int(found[4]) > 0


def test_the_probe_row_times_the_whole_each_fold_and_the_rest() -> None:
    line = probe_path(count=60, rounds=1)
    found = re.fullmatch(
        r"probe records through the fold process: (\d+) µs each; the folds with their alerts "
        r"(-?\d+) \(tension (-?\d+), summons (-?\d+), envoys (-?\d+)\); decode, engine and "
        r"write-back (\d+) \(60 records, 5 a batch, a write-back every 250\)",
        line,
    )
    assert found, line
    assert int(found[1]) > 0 and int(found[6]) > 0


def test_the_probe_rows_records_count_up_per_partition_as_a_topic_s_offsets() -> None:
    records = _records(40)
    for partition in {r[3] for r in records}:
        offsets = [r[4] for r in records if r[3] == partition]
        assert offsets == list(range(len(offsets)))
    assert len({r[3] for r in records}) > 1


def test_the_latency_probe_builds_each_record_before_it_sends_summons_then_close() -> None:
    pairs = [("KAZ", "RUS"), ("POL", "UKR")]
    base = datetime(2030, 1, 1, tzinfo=UTC)
    records = [probe_record(pairs, base, i) for i in range(6)]
    events = [decode_event(value) for _, _, value, _ in records]
    # A round over the pairs summons, the next closes those summonses, and so on.
    assert [e.action for e in events] == ["summon_envoy"] * 2 + ["summons_closed"] * 2 + [
        "summon_envoy"
    ] * 2
    for i, ((event_id, key, _, timestamp_ms), event) in enumerate(
        zip(records, events, strict=True)
    ):
        assert event.event_id == event_id
        assert key == event.dyad.encode() == dyad_of(*pairs[i % 2]).encode()
        assert event.occurred_at == base + STEP * i
        assert timestamp_ms == int(event.occurred_at.timestamp() * 1000)
    assert len({r[0] for r in records}) == 6  # each record its own event


def test_the_memory_rows_read_each_process_peak_and_current_resident_set() -> None:
    peak, now = _resident(os.getpid())
    assert peak >= now > 0
    row = {"events": 20000, "dyads": 500, "years": 2.5, "worker_eps": 3500}
    line = _line({**row, "processes": [(107.8, 107.8), (101.1, 100.0)]})
    assert line == (
        "  20,000 events, 500 pairs, 2.5 y: Faust's process 107.8 / 107.8 MiB; "
        "fold process 101.1 / 100.0 MiB (peak / now; 3,500 events/s)"
    )


def test_the_soak_compares_the_end_with_the_first_quarter_of_the_run() -> None:
    def row(minutes: float, sent: int, faust: float, fold: float) -> dict[str, object]:
        return {
            "minutes": minutes,
            "sent": sent,
            "behind": 0,
            "event_day": "2020-01-01",
            "dyads": 500,
            "processes": [(faust, faust + 10), (fold, fold + 5)],
            "broker_mib": None,
            "final": False,
        }

    rows = [row(5, 60_000, 100, 90), row(15, 180_000, 110, 100), row(60, 720_000, 121, 88)]
    # The first quarter ends at 15 min of 60: 210 MiB there, 209 at the end.
    assert soak_summary(rows) == (
        "soak: the worker's resident set 210.0 MiB at 15 min (180,000 events), 209.0 MiB at "
        "the end (720,000 events, 500 pairs): -0.5 %; peak 224.0 MiB"
    )
    assert soak_line(rows[0]) == (
        "   5.0 min    60,000 sent (to 2020-01-01), 0 behind: Faust's process 100; "
        "fold process 90 MiB"
    )
    assert soak_summary(rows[:1]).startswith("soak: too short")


def test_the_latency_figures_carry_the_longest_wait_beside_the_quantiles() -> None:
    sent = {str(i): 0.0 for i in range(200)}
    got = {str(i): 0.010 for i in range(199)} | {"199": 0.250}  # one stall of 250 ms
    figures = _quantiles(100, sent, got)
    # A stall that holds up one alert in 200 shows in the max, not in the p99.
    assert (figures["p50"], figures["p99"], figures["max"]) == (10.0, 10.0, 250.0)
    assert (figures["sent"], figures["alerted"]) == (200, 200)
    # A row names the worker's settings, and the first record's alert, sent alone
    # before the clock starts, apart from the quantiles.
    row = {"fetch_wait_ms": 10, "batch_within_s": 0.005, "linger_ms": 1.0, **figures}
    pace = {"growth_ms_per_s": 0.3, "kept_pace_eps": 100}
    # And where the cores went while the probe offered its load.
    cpu = {"probe_cpu_pct": 24.1, "cpu_pct": {"worker": 42.3, "fold": 50.4, "broker": 75.0}}
    assert latency_line({**row, **pace, "first_ms": 201.7, **cpu}) == (
        "fetch wait    10 ms  batch window  0.005 s  linger   1 ms     100/s: p50 10.0 ms, "
        "p95 10.0 ms, p99 10.0 ms, max 250.0 ms (200/200 alerted; first alone 201.7 ms; "
        "% of a core: probe 24.1, worker 42.3, fold 50.4, broker 75 (sum 192); "
        "latency growth 0.3 ms per s: folded ~100/s)"
    )


def test_a_worker_that_folds_slower_than_offered_shows_in_the_latency_s_growth() -> None:
    # Offered 1,000/s for 10 s; folded 800/s: the record sent at t is folded at 1.25 t.
    behind = [(t / 100, 250 * t / 100 + 20) for t in range(1000)]
    assert kept_pace(1000, behind) == {"growth_ms_per_s": 250.0, "kept_pace_eps": 800}
    # Kept up: the latency stays level, whatever its spread; the rate offered is kept.
    level = [(t / 100, 20 + (t % 7)) for t in range(1000)]
    pace = kept_pace(1000, level)
    assert abs(pace["growth_ms_per_s"]) < 1 and pace["kept_pace_eps"] == 1000
    assert math.isnan(kept_pace(1000, [(0.0, 5.0)])["kept_pace_eps"])


def test_bench_gc_times_a_full_collection_of_the_imports_frozen_or_not_and_of_a_state() -> None:
    line = collection_line(Shape(events=300, dyads=20, years=0.5, seed=3))
    found = re.fullmatch(
        r"full collection: the worker's imports ([\d.]+) ms \(([\d,]+) objects\), ([\d.]+) ms "
        r"once frozen \(([\d,]+)\); an engine's state after 300 events on 20 pairs ([\d.]+) ms "
        r"\(([\d,]+) objects\)",
        line,
    )
    assert found, line
    assert int(found[2].replace(",", "")) > 10_000 and int(found[4]) == 0  # all frozen
    assert float(found[1]) > float(found[3])
    assert int(found[6].replace(",", "")) > 20  # at least a log per pair, walked
    assert gc.get_freeze_count() == 0  # this process's heap given back to the collector


def test_the_machine_line_times_the_calibration_loop() -> None:
    line = machine_line()
    found = re.match(r"machine: calibration loop (\d+\.\d\d) ms \(best of 7;", line)
    assert found, line
    assert float(found[1]) > 0
    assert _loop() == 97  # the loop does its work: one entry per key


def test_the_calibration_is_the_best_of_its_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = iter([0.0, 0.030, 1.0, 1.010, 2.0, 2.020])
    monkeypatch.setattr("bench.machine.time", SimpleNamespace(perf_counter=lambda: next(clock)))
    assert machine.calibration_ms(repeat=3) == pytest.approx(10.0)


def test_bench_all_s_summary_renders_the_latency_row_with_the_rate_folded() -> None:
    latency = {
        **_quantiles(1000, {"a": 0.0, "b": 0.0}, {"a": 0.5, "b": 1.0}),
        **kept_pace(1000, [(0.0, 20.0), (10.0, 460.0)]),
        "first_ms": 21.0,
        "probe_cpu_pct": 29.1,
    }
    summary = {
        "broker": "embedded",
        "machine": "x86_64, 2 cores, 3.11.7, calibration loop 12.00 ms at the end",
        **{"events": 200, "dyads": 30, "years": 5.0, "publish_eps": 14837},
        **{"worker_eps": 3260, "raw_consume_eps": 130101, "ratio": 0.0251},
        **{"ceiling_eps": 4287, "ceiling_ratio": 0.76, "ceiling_writes_eps": 4307},
        **{"ceiling_writes_ratio": 0.757, "two_workers_eps": None, "worker_startup_s": 7.9},
        **{"latency_ms": latency, "peak_rss_mb": 404.9, "broker_rss_mb": {"before": None}},
        "growth": [],
        "rounds": [
            {"calibration_ms": 10.04, "worker": 3260.4, "ceiling": 4287.0, "ceiling_ratio": 0.76},
            {"calibration_ms": 19.5, "worker": 3100.0, "ceiling": 3800.0, "ceiling_ratio": 0.8158},
        ],
        "cpu_us": {
            "worker": {"worker": 90.0, "fold": 110.0, "broker": 50.0},
            "ceiling": {"worker": 125.0, "fold": 0.0, "broker": 5.0},
        },
        "processes": {"worker": {"worker": 1, "fold": 1}, "ceiling": {"worker": 1, "fold": 0}},
        "cores": 2,
    }
    text = render(summary)
    assert "calibration loop 12.00 ms" in text
    flat = " ".join(text.split())  # (the table pads its first column)
    # A figure of the rounds is their median, each round's after it.
    assert "(b)/(f) 0.760 (median of 2 rounds: 0.760 · 0.816)" in flat, text
    assert "4,287 events/s (median of 2 rounds: 4,287 · 3,800)" in flat, text
    assert "4,307 events/s (median of 2 rounds: - · -)" in flat, text  # rounds without it
    assert "calibration loop at each round 10.0 · 19.5 ms" in flat, text
    # Each event's CPU by process, and what two cores would allow at that cost.
    # Two cores allow 8,000/s at 250 µs; the fold process alone, on one core, 9,090.
    assert "worker 90.0, fold 110.0, broker 50.0: 250.0; at most 8,000/s" in flat, text
    # The ceiling is one process: one core, 8,000/s, though two would allow 15,385.
    assert "worker 125.0, fold 0.0, broker 5.0: 130.0; at most 8,000/s" in flat, text
    assert "latency growth 44.0 ms per s: folded ~958/s)" in text, text
    # A broker the bench did not start has no share to report.
    assert "% of a core: probe 29.1 (sum 29); latency growth" in text, text


def test_the_cpu_reader_sees_a_busy_child_and_not_an_idle_parent(tmp_path: Path) -> None:
    # The worker's fold process is its child: a parent that waits beside a child that
    # spins shows the child's CPU time under "fold", not its own under "worker".
    stop = tmp_path / "stop"
    spin = f"import os\nwhile not os.path.exists({str(stop)!r}): pass"
    script = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {spin!r}])"
    parent = subprocess.Popen([sys.executable, "-c", script])
    try:
        read = cpu_of("no-broker-started-here:0", parent.pid)
        first = _until(read, lambda r: r["fold"] > 0)
        then = _until(read, lambda r: r["fold"] >= first["fold"] + 0.3)
    finally:
        stop.touch()
        parent.wait(30)
    assert set(first) == {"worker", "fold"}  # no broker: this bench did not start one
    assert then["worker"] - first["worker"] < 0.1  # the parent only waits


def _until(
    read: Callable[[], dict[str, float]], done: Callable[[dict[str, float]], bool]
) -> dict[str, float]:
    deadline = time.monotonic() + 30
    while not done(figures := read()):
        assert time.monotonic() < deadline, figures
        time.sleep(0.02)
    return figures
