"""Two workers in one consumer group, on Apache Kafka: the second joins mid-replay.

Together they must give exactly the state and the alerts one worker gives (the offline
fold): the rebalance loses nothing and doubles nothing. Both must own partitions, and
the query API must answer the same on either worker, for dyads in partitions it does not
own too — faust's @table_route returns defaults there (faust-streaming #514); the read
model does not route.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from bench.generate import Shape, generate
from infra.brokers.tansu import free_port
from infra.settings import Settings
from infra.topics import Topics
from schemas.codec import encode_event
from tests.helpers import supervised_worker
from tests.integration.kafka_io import collect_alerts, table_state
from tests.integration.test_web import api_answers, call, expected_views, wait_ready, web_env


def test_two_workers_split_the_partitions_and_agree_with_one(
    broker_kind: str, isolated: dict[str, str], tmp_path: Path
) -> None:
    if broker_kind != "kafka":
        pytest.skip("scale-out is specified on Apache Kafka (make test-kafka)")
    from folds.offline import fold_offline
    from folds.registry import build_folds

    events = list(generate(Shape(events=2_000, dyads=60, years=3.0, seed=29)))
    corpus = tmp_path / "events.jsonl"
    corpus.write_bytes(b"".join(encode_event(e) + b"\n" for e in events))
    state, _ = fold_offline(build_folds(Settings()), events)
    expected = expected_views(events)
    span = (events[-1].occurred_at - events[0].occurred_at).total_seconds()
    ports = free_port(), free_port()
    # A stall in Faust's changelog recovery makes a worker exit for a restart
    # (streams/watchdog.py); the workers here are restarted as compose restarts them.
    stall = {"DIPWATCH_RECOVERY_STALL_S": "20"}
    env_a, env_b = web_env(isolated, ports[0]) | stall, web_env(isolated, ports[1]) | stall
    env = {**os.environ, **isolated}
    with supervised_worker(env_a, tmp_path / "a.log") as runs_a:
        wait_ready(ports[0])
        with (tmp_path / "replay.log").open("wb") as out:  # about 30 s of replay
            replay = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "dipwatch",
                    "replay",
                    str(corpus),
                    "--speed",
                    str(span / 30),
                ],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        time.sleep(10)
        assert replay.poll() is None, "the replay ended before the second worker joined"
        with supervised_worker(env_b, tmp_path / "b.log") as runs_b:
            wait_ready(ports[1])
            assert replay.wait(180) == 0, (tmp_path / "replay.log").read_text()[-2000:]
            got = asyncio.run(
                collect_alerts(
                    isolated["DIPWATCH_BOOTSTRAP_SERVERS"],
                    Topics(isolated["DIPWATCH_TOPIC_PREFIX"]).all_alerts,
                    {a.alert_id for a in expected["alerts"]},
                    timeout_s=180,
                )
            )
            dyads = sorted(expected["tension"])
            deadline = time.monotonic() + 60
            answers = _answers(ports, dyads)
            while answers[0] != answers[1] or answers[0]["tension"] != expected["tension"]:
                assert time.monotonic() < deadline, (
                    "the workers' answers did not converge:\n"
                    + _differences(answers, expected, got)
                )
                time.sleep(1)
                answers = _answers(ports, dyads)
            owned = [set(call(p, "/healthz")[1]["partitions"]) for p in ports]
    streamed = {
        name: asyncio.run(
            table_state(
                isolated["DIPWATCH_BOOTSTRAP_SERVERS"],
                isolated["DIPWATCH_APP_ID"],
                f"{name}-state",
                len(values),
            )
        )
        for name, values in state.items()
    }
    ids = Counter(a.alert_id for a in got)
    repeats = sum(n - 1 for n in ids.values())
    print(
        f"\npartitions: worker A {sorted(owned[0])}, worker B {sorted(owned[1])}; "
        f"{len(ids)} alerts, {repeats} repeated deliveries; "
        f"restarts: worker A {runs_a.exits}, worker B {runs_b.exits}"
    )
    assert owned[0] and owned[1] and not owned[0] & owned[1]
    assert owned[0] | owned[1] == set(range(Settings().partitions))
    assert set(ids) == {a.alert_id for a in expected["alerts"]}
    bodies = {a.alert_id: a for a in expected["alerts"]}
    assert all(a == bodies[a.alert_id] for a in got), "a repeat must carry the same body"
    assert streamed == state
    assert answers[0] == answers[1] == {k: expected[k] for k in ("tension", "summons", "envoys")}


def _answers(ports: tuple[int, int], dyads: list[str]) -> list[dict[str, Any]]:
    """Each worker's answers; empty for one that is restarting (its port is closed)."""
    answers = []
    for port in ports:
        try:
            answers.append(api_answers(port, dyads))
        except OSError:
            answers.append({"tension": {}, "summons": [], "envoys": []})
    return answers


def _differences(answers: list[dict[str, Any]], expected: dict[str, Any], got: list[Any]) -> str:
    """Which dyads each worker answers otherwise than the offline fold, and which alerts
    never came: what to look at when the test fails."""
    lines = []
    for worker, answer in zip("AB", answers, strict=True):
        wrong = sorted(d for d, v in expected["tension"].items() if answer["tension"].get(d) != v)
        lines.append(f"worker {worker}: tension differs on {len(wrong)} dyads {wrong[:10]}")
        for dyad in wrong[:2]:
            lines.append(f"  {dyad}: {answer['tension'].get(dyad)} != {expected['tension'][dyad]}")
    missing = {a.alert_id: a for a in expected["alerts"]}.keys() - {a.alert_id for a in got}
    absent = [a for a in expected["alerts"] if a.alert_id in missing]
    lines.append(f"alerts never delivered: {len(absent)}")
    lines += [f"  {a.dyad} {a.rule} {a.at}" for a in absent[:10]]
    return "\n".join(lines)
