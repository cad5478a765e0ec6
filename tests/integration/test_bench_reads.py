"""``python -m bench reads`` against the broker it starts (the embedded one, real)."""

from __future__ import annotations

import pytest

from bench.reads import _line, run_reads
from bench.run import BenchOptions

pytestmark = pytest.mark.integration


def test_bench_reads_follows_a_live_topic_as_it_fills_and_reads_the_broker_s_cpu(
    broker_kind: str,
) -> None:
    if broker_kind != "embedded":  # (it reads the CPU of a broker it starts itself)
        pytest.skip("bench reads starts its own broker: run with the embedded one")
    options = BenchOptions(broker="embedded", bootstrap="")
    rows = run_reads(options, [0, 300, 0], 50.0, 1.0)
    # What the topic held before each window: the fills', and the windows' before it.
    assert [row["held"] for row in rows] == [0, 300, 350]
    for row in rows:
        # Every record offered in the window is read back by the follower, and only
        # those: the fill's records are told apart even where Tansu's end offset is wrong.
        assert row["read"] == row["offered"] == 50
        # A broker that serves a producer and a follower for a second uses some CPU.
        assert row["broker_cpu_pct"] > 0
    assert _line(rows[1]).startswith("topic holding     300 records (4 partitions): broker ")
