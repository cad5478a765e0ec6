"""``python -m bench all`` end to end, small, in rounds: real worker processes, Faust's
null workers and two workers in a group, against the test broker."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest

from bench.generate import Shape
from bench.rounds import KINDS
from bench.run import BenchOptions, run_bench

pytestmark = pytest.mark.integration


def test_bench_all_drains_every_kind_in_each_round_and_reports_the_rounds_medians(
    bootstrap: str, tmp_path: Path
) -> None:
    options = BenchOptions(
        bootstrap=bootstrap,
        # Enough events that a drain spans several commits (its rate is timed between them).
        shape=Shape(events=5000, dyads=200, years=1.0),
        rate=50.0,
        latency_seconds=2.0,
        growth=False,
        rounds=2,
        json_path=tmp_path / "bench.json",
    )
    summary = run_bench(options)
    rounds = summary["rounds"]
    assert len(rounds) == 2
    for figures in rounds:
        for kind in KINDS:  # every kind drained the whole topic in every round
            assert figures[kind] > 0
        assert figures["ceiling_ratio"] == pytest.approx(
            figures["worker"] / figures["ceiling"], abs=2e-3
        )
    # The reported ratio is the median of the rounds' own, not a ratio of two medians.
    assert summary["ceiling_ratio"] == pytest.approx(
        statistics.median(r["ceiling_ratio"] for r in rounds), abs=2e-3
    )
    assert summary["two_workers_ratio"] == pytest.approx(
        statistics.median(r["two_workers_ratio"] for r in rounds), abs=1e-2
    )
    # Each event's CPU, by process: the worker folds in a process of its own, Faust's
    # null worker in none.
    cpu = summary["cpu_us"]
    assert cpu["worker"]["fold"] > 0
    assert cpu["ceiling"]["fold"] == 0
    assert cpu["two_workers"]["fold"] > 0
    # The worker kept for the probe had drained the topic: it alerts on every summons.
    assert summary["latency_ms"]["alerted"] == summary["latency_ms"]["sent"] > 0
    assert json.loads(options.json_path.read_text()) == summary  # type: ignore[union-attr]
