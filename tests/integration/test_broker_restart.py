"""Broker restart on Apache Kafka: stop the broker for 30 s in the middle of a replay and
start it again; the replay and the worker resume on their own and the final state
equals the offline fold.

The replay's producer keeps its batches for as long as it is prepared to wait for the
broker (aiokafka's batch TTL is the request timeout) and retries them in order, one
request at a time, so the log holds every dyad's events in file order and the alerts,
which follow log order, equal the offline fold's too. Part of `make test-kafka`.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.generate import Shape, generate
from folds.offline import fold_offline
from folds.registry import build_folds
from infra.brokers.probe import wait_until_ready
from infra.brokers.tansu import free_port
from infra.settings import Settings
from infra.topics import Topics
from schemas.codec import encode_event
from tests.helpers import stop_process
from tests.integration.conftest import ROOT
from tests.integration.kafka_io import all_committed, collect_alerts, table_state

OUTAGE_S = 30.0


def _kafka(data: Path, port: int, cport: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [str(ROOT / "scripts/apache-kafka.sh"), "run", str(data), str(port), str(cport)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )


@pytest.mark.outage
def test_a_30_s_broker_outage_mid_replay_is_ridden_out(
    broker_kind: str, isolated: dict[str, str], tmp_path: Path
) -> None:
    if broker_kind != "kafka":
        pytest.skip("the broker restart is specified on Apache Kafka (make test-kafka)")
    port, cport = free_port(), free_port()
    bootstrap = f"127.0.0.1:{port}"
    broker_log = tmp_path / "broker.log"
    broker = _kafka(tmp_path / "kafka", port, cport, broker_log)
    env = {**isolated, "DIPWATCH_BOOTSTRAP_SERVERS": bootstrap}
    events = list(generate(Shape(events=3_000, dyads=100, years=3.0, seed=13)))
    corpus = tmp_path / "events.jsonl"
    corpus.write_bytes(b"".join(encode_event(e) + b"\n" for e in events))
    state, expected = fold_offline(build_folds(Settings()), events)
    span = (events[-1].occurred_at - events[0].occurred_at).total_seconds()
    worker_log, replay_log = (tmp_path / "worker.log").open("wb"), tmp_path / "replay.log"
    worker = replay = None
    try:
        asyncio.run(wait_until_ready(bootstrap, 180))
        worker = subprocess.Popen(
            [sys.executable, "-m", "dipwatch", "worker"],
            env={**os.environ, **env},
            stdout=worker_log,
            stderr=subprocess.STDOUT,
        )
        with replay_log.open("wb") as out:  # about 60 s of replay at this speed
            replay = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "dipwatch",
                    "replay",
                    str(corpus),
                    "--speed",
                    str(span / 60),
                ],
                env={**os.environ, **env},
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        time.sleep(15)
        assert replay.poll() is None, "the replay ended before the outage"
        broker.terminate()
        broker.wait(60)
        stopped = time.monotonic()
        time.sleep(OUTAGE_S)
        broker = _kafka(tmp_path / "kafka", port, cport, broker_log)
        asyncio.run(wait_until_ready(bootstrap, 180))
        print(f"\nbroker down for {time.monotonic() - stopped:.1f} s")
        assert replay.wait(300) == 0, replay_log.read_text()[-3000:]
        got = asyncio.run(
            collect_alerts(
                bootstrap,
                Topics(env["DIPWATCH_TOPIC_PREFIX"]).all_alerts,
                {a.alert_id for a in expected},
                timeout_s=240,
            )
        )
        # The states follow the commits (written back before each).
        named = Topics(env["DIPWATCH_TOPIC_PREFIX"])
        asyncio.run(
            all_committed(bootstrap, env["DIPWATCH_APP_ID"], named.events, named.partitions)
        )
        streamed = {
            name: asyncio.run(
                table_state(bootstrap, env["DIPWATCH_APP_ID"], f"{name}-state", len(values))
            )
            for name, values in state.items()
        }
        assert worker.poll() is None, "the worker died with the broker"
    finally:
        for proc in (replay, worker, broker):
            stop_process(proc, 60)
        worker_log.close()
    assert {a.alert_id for a in got} == {a.alert_id for a in expected}
    assert streamed == state
